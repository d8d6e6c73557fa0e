/** A unified line diff, enough to show what replacing a unit file changes (units are a few dozen lines). */

type Op = { kind: " " | "-" | "+"; line: string };

/** Unified diff of two texts with `context` lines around each change; "" when they are equal. */
export function unifiedDiff(
  before: string,
  after: string,
  labels: { from: string; to: string },
  context = 3,
): string {
  if (before === after) return "";
  const ops = lineOps(splitLines(before), splitLines(after));
  const hunks: string[] = [];
  let i = 0;
  while (i < ops.length) {
    if (ops[i]!.kind === " ") {
      i++;
      continue;
    }
    // A hunk: from `context` lines before this change to `context` lines after the last change that is
    // no further than 2 × context unchanged lines from the previous one.
    const start = Math.max(0, i - context);
    let end = i;
    for (let j = i, quiet = 0; j < ops.length; j++) {
      if (ops[j]!.kind === " ") {
        if (++quiet > 2 * context) break;
      } else {
        quiet = 0;
        end = j;
      }
    }
    const stop = Math.min(ops.length, end + 1 + context);
    const [fromStart, toStart] = positions(ops, start);
    const slice = ops.slice(start, stop);
    const fromLen = slice.filter((o) => o.kind !== "+").length;
    const toLen = slice.filter((o) => o.kind !== "-").length;
    hunks.push(
      `@@ -${range(fromStart, fromLen)} +${range(toStart, toLen)} @@`,
      ...slice.map((o) => `${o.kind}${o.line}`),
    );
    i = stop;
  }
  return `--- ${labels.from}\n+++ ${labels.to}\n${hunks.join("\n")}\n`;
}

function splitLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** Edit script from the longest common subsequence of lines. */
function lineOps(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  // lcs[i][j]: length of the LCS of a[i..] and b[j..]
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: " ", line: a[i]! });
      i++;
      j++;
    } else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      // Removals before additions, as diff -u shows a changed line.
      ops.push({ kind: "-", line: a[i]! });
      i++;
    } else {
      ops.push({ kind: "+", line: b[j]! });
      j++;
    }
  }
  return ops;
}

/** 1-based line numbers in the old and new text where op `index` stands. */
function positions(ops: Op[], index: number): [number, number] {
  let from = 1;
  let to = 1;
  for (let k = 0; k < index; k++) {
    if (ops[k]!.kind !== "+") from++;
    if (ops[k]!.kind !== "-") to++;
  }
  return [from, to];
}

function range(start: number, length: number): string {
  // GNU diff writes an empty range as the line before it.
  if (length === 0) return `${start - 1},0`;
  return length === 1 ? `${start}` : `${start},${length}`;
}
