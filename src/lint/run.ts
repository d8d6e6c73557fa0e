/** Runs every rule over a loaded configuration and settles severities. */
import type { LoadResult } from "../config/load.ts";
import { ruleInfo } from "./catalog.ts";
import { type Diagnostic, sortDiagnostics } from "./diagnostic.ts";
import { CHECKS, FILE_CHECKS } from "./rules/index.ts";

export interface LintOptions {
  /** Warnings fail the run, and file-permissions becomes an error. */
  strict?: boolean;
}

export function lintLoaded(load: LoadResult, options: LintOptions = {}): Diagnostic[] {
  const ctx = { load, strict: options.strict ?? false };
  const out: Diagnostic[] = [...load.diagnostics];
  for (const rule of load.fatal ? FILE_CHECKS : [...CHECKS, ...FILE_CHECKS]) {
    for (const finding of rule.check(ctx)) {
      out.push({ rule: rule.id, ...finding, severity: finding.severity ?? ruleInfo(rule.id).severity });
    }
  }
  return sortDiagnostics(out);
}

/** 0 when the config may be used; 1 when it has errors (or, with strict, warnings). */
export function lintExitCode(diagnostics: readonly Diagnostic[], strict: boolean): 0 | 1 {
  const failing = diagnostics.some((d) => d.severity === "error" || (strict && d.severity === "warning"));
  return failing ? 1 : 0;
}
