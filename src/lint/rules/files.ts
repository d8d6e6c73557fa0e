/** Checks of the files themselves. */
import type { SourceFile } from "../../config/load.ts";
import { at, defineRule, type Finding } from "../rule.ts";
import { literalSecretPaths } from "./environment.ts";

export const filePermissions = defineRule({
  id: "file-permissions",
  check(ctx) {
    const findings: Finding[] = [];
    const report = (file: SourceFile, what: string) => {
      const mode = file.stat ? file.stat.mode & 0o777 : 0;
      if ((mode & 0o077) === 0) return;
      findings.push(
        at(
          { file: file.path, path: null, line: null, column: null },
          `${file.path} is mode ${mode.toString(8).padStart(4, "0")}: other users can read the ${what} in it`,
          { severity: ctx.strict ? "error" : "warning", hint: `chmod 600 ${file.path}` },
        ),
      );
    };
    if ((ctx.load.dotenv?.entries.length ?? 0) > 0) report(ctx.load.envFile, "secrets");
    if (ctx.load.configFile.exists && !ctx.load.fatal && literalSecretPaths(ctx).length > 0) {
      report(ctx.load.configFile, "literal secrets");
    }
    return findings;
  },
});
