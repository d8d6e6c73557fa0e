/** In-process lint of unit files, installed under a scratch root that also holds the binaries they start. */
import { join } from "node:path";
import type { Diagnostic } from "../../src/lint/diagnostic.ts";
import { lintUnit, readUnit, searchPaths } from "../../src/lint/run-service.ts";
import { installedSystemd, type SystemdHost } from "../../src/systemd/lint-host.ts";
import { parseCommand, parseUnitText, type Unit } from "../../src/systemd/unit-file.ts";
import { tempDir, writeFile } from "./home.ts";

let host: SystemdHost | undefined;

/** This machine's systemd (asked once per test file). */
export function thisSystemd(): SystemdHost {
  host ??= installedSystemd();
  return host;
}

export interface UnitLintOptions {
  /** `--home`. */
  home?: string;
  systemd?: SystemdHost;
  /** Create the programs that ExecStart= lines (drop-ins included) name under the root (default true). */
  binaries?: boolean;
  scope?: "system" | "user";
}

/** Writes the files under `<root>/etc/systemd/system/` and loads the unit as `hermes lint service` does. */
export function installUnits(
  units: readonly { name: string; text: string }[],
  binaries = true,
): { root: string; unit: Unit } {
  const root = tempDir();
  const dir = join(root, "etc", "systemd", "system");
  for (const u of units) writeFile(dir, u.name, u.text, 0o644);
  const main = units.find((u) => u.name.endsWith(".service"));
  if (!main) throw new Error("no .service file among the units");
  if (binaries) {
    for (const a of units.flatMap((u) => parseUnitText(u.text, u.name).assignments)) {
      if (a.section !== "Service" || a.key !== "ExecStart" || a.value === "") continue;
      try {
        const path = parseCommand(a.value).path;
        if (path.startsWith("/")) writeFile(root, path.slice(1), "#!/bin/sh\n", 0o755);
      } catch {
        // an unparsable command is what the example is about
      }
    }
  }
  return { root, unit: readUnit(join(dir, main.name), searchPaths()) };
}

export function lintUnitFiles(
  units: readonly { name: string; text: string }[],
  options: UnitLintOptions = {},
): Diagnostic[] {
  const { root, unit } = installUnits(units, options.binaries ?? true);
  return lintUnit(unit, {
    systemd: options.systemd ?? thisSystemd(),
    root,
    home: options.home,
    scope: options.scope,
    userHome: "/home/tester",
  });
}

/** A fake systemd, for rules whose answer depends on its version. */
export function fakeSystemd(
  version: number | null,
  unknownKeys: SystemdHost["unknownKeys"] = () => null,
): SystemdHost {
  return { version, unknownKeys };
}
