/** What self-update and uninstall share: which binary they act on, which units to look at, the trial run. */
import { spawnSync } from "node:child_process";
import { ReleaseError } from "../../install/site.ts";
import { loadRuntime } from "../../runtime/index.ts";
import type { UnitKind } from "../../systemd/render.ts";
import { isRoot, Refused } from "./service.ts";

/** The compiled binary this process runs from; refused when hermes runs from source (node, deno, bun file.ts). */
export async function installedBinary(command: string): Promise<string> {
  const [executable, script] = (await loadRuntime()).selfCommand();
  if (script.length > 0)
    throw new Refused(
      `hermes ${command} acts on the installed hermes binary, but this is ${executable} running ${script.at(-1)}; run it from the binary install.sh installed.`,
    );
  return executable;
}

/**
 * Where to look for units: root at system units; anyone else at their user units and at system units (to say
 * that those need root). With the test hook HERMES_SYSTEMD_UNIT_DIR both kinds would read one directory, so
 * only the kind this user would install is read.
 */
export function serviceKinds(): UnitKind[] {
  if (process.env.HERMES_SYSTEMD_UNIT_DIR) return [isRoot() ? "system" : "user"];
  return isRoot() ? ["system"] : ["user", "system"];
}

/** Runs a downloaded binary once: it must start on this machine and say the version it was fetched as. */
export function trialRun(path: string, version: string): void {
  const r = spawnSync(path, ["--version"], {
    encoding: "utf8",
    timeout: 30_000,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const said = (r.stdout ?? "").trim();
  if (r.status === 0 && said === `hermes ${version}`) return;
  const why = r.error
    ? r.error.message
    : r.status === 0
      ? `it says "${said}", not "hermes ${version}"`
      : `exit ${r.status ?? r.signal}: ${(r.stderr ?? "").trim().split("\n")[0] ?? ""}`;
  throw new ReleaseError(
    `The downloaded hermes ${version} does not run on this machine (${why}); nothing was changed.`,
  );
}
