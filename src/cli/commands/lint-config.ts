import { InputError, loadConfig } from "../../config/load.ts";
import { UsageError } from "../../errors.ts";
import { RULE_IDS } from "../../lint/catalog.ts";
import { summarize } from "../../lint/diagnostic.ts";
import { formatGithub } from "../../lint/format/github.ts";
import { formatHuman } from "../../lint/format/human.ts";
import { formatJson } from "../../lint/format/json.ts";
import { formatSarif } from "../../lint/format/sarif.ts";
import { RULE_PAGES } from "../../lint/pages.gen.ts";
import { effectiveConfig, formatEffectiveYaml } from "../../lint/print-config.ts";
import { Redactor } from "../../lint/redact.ts";
import { lintExitCode, lintLoaded } from "../../lint/run.ts";
import { suggest } from "../../lint/suggest.ts";
import { command } from "../define.ts";
import { resolveHome } from "../globals.ts";
import { colors, err, out } from "../output.ts";

const FORMATS = ["human", "json", "sarif", "github"] as const;
type Format = (typeof FORMATS)[number];

export default command({
  name: "lint config",
  description: "Check the configuration the gateway will read, reporting every problem at once",
  args: {
    file: {
      type: "positional",
      required: false,
      description: "config file (default: $HERMES_HOME/config.yaml)",
    },
    "env-file": { type: "string", description: "env file instead of $HERMES_HOME/.env", valueHint: "file" },
    format: {
      type: "string",
      description: "human, json, sarif or github (default human)",
      valueHint: "format",
    },
    strict: { type: "boolean", description: "warnings fail too; file-permissions becomes an error" },
    online: { type: "boolean", description: "also ask each platform whether its token is valid" },
    explain: { type: "string", description: "print the page of a rule", valueHint: "rule" },
    "print-config": {
      type: "boolean",
      description: "print the effective configuration with each value's source",
    },
    "print-schema": { type: "boolean", description: "print the JSON Schema of config.yaml" },
  },
  async run(args) {
    const format = parseFormat(args.format);
    if (typeof args.explain === "string") return explain(args.explain);
    if (args["print-schema"]) {
      const { configJsonSchema } = await import("../../config/json-schema.ts");
      out(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
      return 0;
    }
    if (args.online)
      throw new UsageError(
        "--online is not built yet in this version of hermes; it comes with the Telegram adapter",
      );

    const strict = args.strict === true;
    let load: ReturnType<typeof loadConfig>;
    try {
      load = loadConfig({
        home: resolveHome(args.home as string | undefined),
        configFile: typeof args.file === "string" ? args.file : undefined,
        envFile: typeof args["env-file"] === "string" ? args["env-file"] : undefined,
        env: process.env,
      });
    } catch (error) {
      if (error instanceof InputError) throw new UsageError(error.message);
      throw error;
    }
    const redactor = new Redactor(load.secrets);
    const diagnostics = lintLoaded(load, { strict }).map((d) => redactor.diagnostic(d));
    const code = lintExitCode(diagnostics, strict);

    if (args["print-config"]) {
      // Redacted before serialising: quoting or escaping in YAML and JSON could otherwise hide a secret.
      const effective = redactor.deep(effectiveConfig(load));
      if (format === "json") out(`${JSON.stringify({ version: 1, ...effective }, null, 2)}\n`);
      else out(formatEffectiveYaml(load, effective));
      const { errors } = summarize(diagnostics);
      if (code !== 0)
        err(
          `The configuration has ${errors} error${errors === 1 ? "" : "s"}; run hermes lint config to see them.`,
        );
      return code;
    }

    const summary = summarize(diagnostics);
    const files = [load.configFile.path, ...(load.envFile.exists ? [load.envFile.path] : [])];
    if (format === "json") out(formatJson(diagnostics, summary));
    else if (format === "sarif") out(formatSarif(diagnostics));
    else if (format === "github") out(formatGithub(diagnostics));
    else out(formatHuman(diagnostics, summary, files, colors(process.stdout)));
    return code;
  },
});

function parseFormat(value: unknown): Format {
  if (value === undefined) return "human";
  if (typeof value === "string" && (FORMATS as readonly string[]).includes(value)) return value as Format;
  throw new UsageError(`--format must be one of ${FORMATS.join(", ")}, not "${String(value)}"`);
}

function explain(rule: string): number {
  const page = RULE_PAGES[rule];
  if (page === undefined) {
    const close = suggest(rule, RULE_IDS);
    throw new UsageError(
      `There is no lint rule "${rule}"${close ? `; did you mean "${close}"?` : ""} Rules: ${RULE_IDS.join(", ")}`,
    );
  }
  out(page.endsWith("\n") ? page : `${page}\n`);
  return 0;
}
