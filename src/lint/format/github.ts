import type { Diagnostic } from "../diagnostic.ts";
import { displayPath } from "./paths.ts";

const COMMAND = { error: "error", warning: "warning", info: "notice" } as const;

// Workflow-command escaping: data escapes %, CR and LF; properties also escape : and ,.
const escapeData = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");

/** GitHub Actions workflow annotations: `::error file=…,line=…,col=…,title=…::message`. */
export function formatGithub(diagnostics: readonly Diagnostic[]): string {
  return diagnostics
    .map((d) => {
      const props: string[] = [];
      if (d.file) props.push(`file=${escapeProperty(displayPath(d.file))}`);
      if (d.line !== null) props.push(`line=${d.line}`);
      if (d.column !== null && d.line !== null) props.push(`col=${d.column}`);
      props.push(`title=${escapeProperty(`hermes [${d.rule}]`)}`);
      const text = d.hint ? `${d.message}\nhint: ${d.hint}` : d.message;
      return `::${COMMAND[d.severity]} ${props.join(",")}::${escapeData(text)}\n`;
    })
    .join("");
}
