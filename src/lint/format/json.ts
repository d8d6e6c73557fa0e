import type { Diagnostic, Summary } from "../diagnostic.ts";

/** The documented shape: `{version, summary, diagnostics:[{rule,severity,message,hint,file,path,line,column}]}`. */
export function formatJson(diagnostics: readonly Diagnostic[], summary: Summary): string {
  return `${JSON.stringify(
    {
      version: 1,
      summary,
      diagnostics: diagnostics.map((d) => ({
        rule: d.rule,
        severity: d.severity,
        message: d.message,
        hint: d.hint ?? null,
        file: d.file,
        path: d.path,
        line: d.line,
        column: d.column,
      })),
    },
    null,
    2,
  )}\n`;
}
