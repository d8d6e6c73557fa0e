/** Lint findings are data: every check returns these, and only the CLI turns them into an exit code. */
export type Severity = "error" | "warning" | "info";

export interface Diagnostic {
  rule: string;
  severity: Severity;
  /** One sentence naming the key; never a secret value. */
  message: string;
  hint?: string;
  /** Absolute path of the file the finding is in, or null for the process environment. */
  file: string | null;
  /** Dot path of the key (`platforms.discord.token`), or null. */
  path: string | null;
  line: number | null;
  column: number | null;
  /** The platform the finding concerns: the gateway disables only that platform. */
  platform?: string;
}

export interface Summary {
  errors: number;
  warnings: number;
  infos: number;
}

export function summarize(diagnostics: readonly Diagnostic[]): Summary {
  const summary = { errors: 0, warnings: 0, infos: 0 };
  for (const d of diagnostics) {
    if (d.severity === "error") summary.errors++;
    else if (d.severity === "warning") summary.warnings++;
    else summary.infos++;
  }
  return summary;
}

const ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** File, then line and column, then severity: the order a reader walks the file in. */
export function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics.sort(
    (a, b) =>
      (a.file ?? "").localeCompare(b.file ?? "") ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      ORDER[a.severity] - ORDER[b.severity] ||
      a.rule.localeCompare(b.rule),
  );
}
