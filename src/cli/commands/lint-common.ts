/** What `hermes lint config` and `hermes lint service` share: options, `--explain`, and the report formats. */
import { UsageError } from "../../errors.ts";
import { allRules, type LintCommand } from "../../lint/catalog.ts";
import type { Diagnostic, Summary } from "../../lint/diagnostic.ts";
import { formatGithub } from "../../lint/format/github.ts";
import { formatHuman } from "../../lint/format/human.ts";
import { formatJson } from "../../lint/format/json.ts";
import { formatSarif } from "../../lint/format/sarif.ts";
import { RULE_PAGES } from "../../lint/pages.gen.ts";
import { suggest } from "../../lint/suggest.ts";
import { colors, out } from "../output.ts";

export const FORMATS = ["human", "json", "sarif", "github"] as const;
export type Format = (typeof FORMATS)[number];

export const formatArgs = {
  format: {
    type: "string",
    description: "human, json, sarif or github (default human)",
    valueHint: "format",
  },
  strict: { type: "boolean", description: "warnings fail too" },
  explain: { type: "string", description: "print the page of a rule", valueHint: "rule" },
} as const;

export function parseFormat(value: unknown): Format {
  if (value === undefined) return "human";
  if (typeof value === "string" && (FORMATS as readonly string[]).includes(value)) return value as Format;
  throw new UsageError(`--format must be one of ${FORMATS.join(", ")}, not "${String(value)}"`);
}

/** Prints a rule's page; an unknown rule is a usage error that names the closest of the command's rules. */
export function explain(rule: string, command: LintCommand): number {
  const page = RULE_PAGES[rule];
  if (page === undefined) {
    const ids = allRules(command).map((r) => r.id);
    const close = suggest(rule, ids);
    throw new UsageError(
      `There is no lint rule "${rule}"${close ? `; did you mean "${close}"?` : ""} Rules: ${ids.join(", ")}`,
    );
  }
  out(page.endsWith("\n") ? page : `${page}\n`);
  return 0;
}

/** Writes the report in the chosen format; `files` are what the human summary says was checked. */
export function printReport(
  format: Format,
  command: LintCommand,
  diagnostics: readonly Diagnostic[],
  summary: Summary,
  files: string[],
): void {
  if (format === "json") out(formatJson(diagnostics, summary));
  else if (format === "sarif") out(formatSarif(diagnostics, command));
  else if (format === "github") out(formatGithub(diagnostics));
  else out(formatHuman(diagnostics, summary, files, colors(process.stdout)));
}
