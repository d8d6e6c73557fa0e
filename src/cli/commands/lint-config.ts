import { existsSync } from "node:fs";
import { join } from "node:path";
import { InputError, loadConfig } from "../../config/load.ts";
import { UsageError } from "../../errors.ts";
import { sortDiagnostics, summarize } from "../../lint/diagnostic.ts";
import { effectiveConfig, formatEffectiveYaml } from "../../lint/print-config.ts";
import { Redactor } from "../../lint/redact.ts";
import { lintExitCode, lintLoaded } from "../../lint/run.ts";
import { command } from "../define.ts";
import { resolveHome } from "../globals.ts";
import { err, out } from "../output.ts";
import { explain, formatArgs, parseFormat, printReport } from "./lint-common.ts";

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
    ...formatArgs,
    strict: { type: "boolean", description: "warnings fail too; file-permissions becomes an error" },
    online: { type: "boolean", description: "also ask each platform whether its token is valid" },
    "print-config": {
      type: "boolean",
      description: "print the effective configuration with each value's source",
    },
    "print-schema": { type: "boolean", description: "print the JSON Schema of config.yaml" },
  },
  async run(args) {
    const format = parseFormat(args.format);
    if (typeof args.explain === "string") {
      const code = explain(args.explain, "config");
      if (PREVIEWED.has(args.explain)) out(await jobsPreview(args));
      return code;
    }
    if (args["print-schema"]) {
      const { configJsonSchema } = await import("../../config/json-schema.ts");
      out(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
      return 0;
    }
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
    if (args.online && !load.fatal) {
      const { lintOnline } = await import("../../lint/online.ts");
      const online = await lintOnline(load, diagnostics);
      diagnostics.push(...online.diagnostics.map((d) => redactor.diagnostic(d)));
      sortDiagnostics(diagnostics);
      if (format === "human")
        for (const v of online.valid) err(`online: ${v.platform} accepted its credentials (${v.identity})`);
    }
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
    const jobsFile = join(load.home, "cron", "jobs.json");
    const files = [
      load.configFile.path,
      ...(load.envFile.exists ? [load.envFile.path] : []),
      ...(existsSync(jobsFile) ? [jobsFile] : []),
    ];
    printReport(format, "config", diagnostics, summary, files);
    return code;
  },
});

/** The rules whose `--explain` page is followed by the current jobs and their next runs. */
const PREVIEWED = new Set(["invalid-cron", "timezone-invalid"]);

/** Every job of the home (config.yaml and cron/jobs.json) with its next three runs, or why it has none. */
async function jobsPreview(args: Record<string, unknown>): Promise<string> {
  const { readHomeJobs, withSource } = await import("../../cron/sources.ts");
  const { formatPreview } = await import("../../cron/view.ts");
  const home = resolveHome(args.home as string | undefined);
  const jobs = readHomeJobs(home, process.env, {
    configFile: typeof args.file === "string" ? args.file : undefined,
    envFile: typeof args["env-file"] === "string" ? args["env-file"] : undefined,
  });
  const problems = [
    ...(jobs.configProblem ? [jobs.configProblem] : []),
    ...(jobs.cli.ok ? [] : [jobs.cli.message]),
  ];
  const where = jobs.load?.configFile.path ?? home;
  return formatPreview(jobs.all.map(withSource), new Date(), where, problems);
}
