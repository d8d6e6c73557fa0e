import type { Diagnostic, Summary } from "../diagnostic.ts";
import { displayPath } from "./paths.ts";

export interface Colors {
  red(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

const wrap = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;

export const ANSI: Colors = {
  red: wrap(31, 39),
  yellow: wrap(33, 39),
  cyan: wrap(36, 39),
  dim: wrap(2, 22),
  bold: wrap(1, 22),
};
export const PLAIN: Colors = {
  red: (s) => s,
  yellow: (s) => s,
  cyan: (s) => s,
  dim: (s) => s,
  bold: (s) => s,
};

/** `file:line:col: severity [rule] message`, a hint line, then a summary. */
export function formatHuman(
  diagnostics: readonly Diagnostic[],
  summary: Summary,
  files: string[],
  c: Colors,
): string {
  const lines: string[] = [];
  for (const d of diagnostics) {
    const where = [displayPath(d.file), d.line, d.line !== null ? d.column : null]
      .filter((x) => x !== null)
      .join(":");
    const severity =
      d.severity === "error"
        ? c.red("error")
        : d.severity === "warning"
          ? c.yellow("warning")
          : c.cyan("info");
    lines.push(`${c.bold(`${where}:`)} ${severity} ${c.dim(`[${d.rule}]`)} ${d.message}`);
    if (d.hint) lines.push(`  ${c.dim("hint:")} ${d.hint}`);
  }
  if (lines.length > 0) lines.push("");
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const shown = files.map((f) => displayPath(f));
  const checked =
    shown.length > 2 ? `${shown.slice(0, -1).join(", ")} and ${shown.at(-1)}` : shown.join(" and ");
  if (summary.errors + summary.warnings + summary.infos === 0) lines.push(`${checked}: no problems found`);
  else {
    const text = `${count(summary.errors, "error")}, ${count(summary.warnings, "warning")}, ${count(summary.infos, "info")} in ${checked}`;
    lines.push(summary.errors > 0 ? c.red(text) : summary.warnings > 0 ? c.yellow(text) : text);
  }
  return `${lines.join("\n")}\n`;
}
