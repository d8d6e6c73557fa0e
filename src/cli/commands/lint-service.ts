import { dirname, resolve } from "node:path";
import { InputError } from "../../config/load.ts";
import { UsageError } from "../../errors.ts";
import { summarize } from "../../lint/diagnostic.ts";
import { lintExitCode } from "../../lint/run.ts";
import { installDirs, lintUnit, readUnit, searchPaths } from "../../lint/run-service.ts";
import { findInstalledUnits, installedSystemd } from "../../systemd/lint-host.ts";
import type { Scope } from "../../systemd/unit-file.ts";
import { command } from "../define.ts";
import { err } from "../output.ts";
import { explain, formatArgs, parseFormat, printReport } from "./lint-common.ts";

export default command({
  name: "lint service",
  description: "Audit systemd unit files for what breaks restarts",
  args: {
    unit: {
      type: "positional",
      required: false,
      description: "unit files (default: the installed hermes-gateway and hermes-cron units)",
    },
    ...formatArgs,
  },
  run(args) {
    const format = parseFormat(args.format);
    if (typeof args.explain === "string") return explain(args.explain, "service");
    const strict = args.strict === true;
    const paths = searchPaths();
    const named = args._.filter((a) => a !== "");

    let targets: { path: string; scope?: Scope }[];
    if (named.length > 0) {
      targets = named.map((file) => {
        const dir = dirname(resolve(file));
        const scope = paths.system.includes(dir) ? "system" : paths.user.includes(dir) ? "user" : undefined;
        return { path: file, scope };
      });
    } else {
      const dirs = installDirs();
      const found = findInstalledUnits(dirs);
      for (const path of found.masked) err(`${path} is masked (a link to /dev/null); skipped.`);
      if (found.units.length === 0) {
        // Nothing checked is not a pass: a CI gate must not go green on a machine without the units.
        throw new UsageError(
          `No hermes units are installed in ${dirs.system} or ${dirs.user}; name the unit files to check: hermes lint service FILE...`,
        );
      }
      targets = found.units;
    }

    const systemd = installedSystemd();
    const home = typeof args.home === "string" && args.home !== "" ? resolve(args.home) : undefined;
    const diagnostics = [];
    const files: string[] = [];
    for (const target of targets) {
      let unit: ReturnType<typeof readUnit>;
      try {
        unit = readUnit(target.path, paths);
      } catch (error) {
        if (error instanceof InputError) throw new UsageError(error.message);
        throw error;
      }
      files.push(unit.main.path);
      diagnostics.push(...lintUnit(unit, { systemd, home, scope: target.scope }));
    }
    printReport(format, "service", diagnostics, summarize(diagnostics), files);
    return lintExitCode(diagnostics, strict);
  },
});
