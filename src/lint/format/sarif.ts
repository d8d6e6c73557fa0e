import { pathToFileURL } from "node:url";
import { VERSION } from "../../version.ts";
import { allRules, type LintCommand } from "../catalog.ts";
import type { Diagnostic } from "../diagnostic.ts";

const LEVEL = { error: "error", warning: "warning", info: "note" } as const;

/** SARIF 2.1.0, one run, with every rule of the command described in the driver. */
export function formatSarif(diagnostics: readonly Diagnostic[], command: LintCommand = "config"): string {
  const rules = allRules(command);
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const log = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "hermes",
            version: VERSION,
            semanticVersion: VERSION,
            rules: rules.map((r) => ({
              id: r.id,
              shortDescription: { text: r.summary },
              help: { text: `Run: hermes lint ${r.command} --explain ${r.id}` },
              defaultConfiguration: { level: LEVEL[r.severity] },
            })),
          },
        },
        results: diagnostics.map((d) => ({
          ruleId: d.rule,
          ruleIndex: index.get(d.rule),
          level: LEVEL[d.severity],
          message: { text: d.hint ? `${d.message}. Hint: ${d.hint}` : d.message },
          ...(d.file
            ? {
                locations: [
                  {
                    physicalLocation: {
                      artifactLocation: { uri: pathToFileURL(d.file).href },
                      ...(d.line !== null
                        ? {
                            region: {
                              startLine: d.line,
                              ...(d.column !== null ? { startColumn: d.column } : {}),
                            },
                          }
                        : {}),
                    },
                    ...(d.path ? { logicalLocations: [{ fullyQualifiedName: d.path, kind: "member" }] } : {}),
                  },
                ],
              }
            : {}),
        })),
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
