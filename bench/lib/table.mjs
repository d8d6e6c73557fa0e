// The benchmarks' result tables: a header and rows of text cells, each column padded to its widest cell.

/** Prints `header` and `rows` as aligned columns, two spaces apart. */
export function printTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}
