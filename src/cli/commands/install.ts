/** `hermes self-update` and `hermes uninstall` (SPEC §1, §9); the flows are in self-update.ts and uninstall.ts. */
import { UsageError } from "../../errors.ts";
import { ReleaseError } from "../../install/site.ts";
import { command } from "../define.ts";
import { err } from "../output.ts";
import { refusable } from "./service.ts";

/** A refusal or a release problem (no such version, a bad download): its sentence, exit 1. */
async function guarded(flow: () => Promise<number>): Promise<number> {
  return refusable(async () => {
    try {
      return await flow();
    } catch (error) {
      if (error instanceof ReleaseError) {
        err(error.message);
        return 1;
      }
      throw error;
    }
  });
}

export const selfUpdate = command({
  name: "self-update",
  description:
    "Install a newer binary from the release site, verified, and restart the services that run it (rolled back if not ready)",
  args: {
    version: { type: "string", description: "install this version instead of the latest", valueHint: "v" },
    check: {
      type: "boolean",
      description: "only say whether another version is available (exit 1 when one is)",
    },
  },
  async run(args) {
    if (args.version === "") throw new UsageError("--version needs a version, e.g. 0.2.0");
    const { selfUpdate: flow } = await import("./self-update.ts");
    return guarded(() => flow(args));
  },
});

export const uninstall = command({
  name: "uninstall",
  description: "Remove the binary, the PATH lines the installer added and the services that run it",
  args: {
    "dry-run": { type: "boolean", description: "say what would be removed, and remove nothing" },
  },
  async run(args) {
    const { uninstallHermes } = await import("./uninstall.ts");
    return guarded(() => uninstallHermes(args));
  },
});
