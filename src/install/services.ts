/** The hermes units (written by install-service) whose ExecStart= runs a given binary. */
import { readdirSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { type Account, unitDirectory } from "../systemd/host.ts";
import { type Component, isHermesUnit, type UnitKind } from "../systemd/render.ts";
import { parseCommand } from "../systemd/unit-file.ts";

export interface ServiceUnit {
  kind: UnitKind;
  component: Component;
  /** The instance name (`--name`), if any. */
  name: string | undefined;
  unit: string;
  path: string;
  text: string;
}

const UNIT_FILE = /^hermes-(gateway|cron)(?:-(.+))?\.service$/;

const real = (path: string) => {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
};

/**
 * Units of these kinds, for this account, that run `binary`. Root looks at system units, anyone else at their
 * user units and at system units (which only root can change, so the caller can say so).
 */
export function unitsRunning(binary: string, account: Account, kinds: readonly UnitKind[]): ServiceUnit[] {
  const found: ServiceUnit[] = [];
  const seen = new Set<string>();
  const target = real(binary);
  for (const kind of kinds) {
    const dir = unitDirectory(kind, account);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const file of names.sort()) {
      const match = UNIT_FILE.exec(file);
      const path = join(dir, file);
      if (!match || seen.has(path)) continue;
      let text: string;
      try {
        text = readFileSync(path, "utf8");
      } catch {
        continue;
      }
      const exec = /^ExecStart=(.*)$/m.exec(text)?.[1];
      if (!isHermesUnit(text) || exec === undefined) continue;
      let program: string;
      try {
        program = parseCommand(exec).path;
      } catch {
        continue;
      }
      if (real(program) !== target) continue;
      seen.add(path);
      found.push({ kind, component: match[1] as Component, name: match[2], unit: file, path, text });
    }
  }
  return found;
}
