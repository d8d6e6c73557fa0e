/**
 * What `hermes lint service` asks of the machine it runs on: the installed systemd's version, what
 * `systemd-analyze verify` says about keys it does not know, and which hermes units are installed.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { Scope, Unit, UnitFile } from "./unit-file.ts";

/** A key or section systemd said it does not know, at a line of one of the unit's files. */
export interface KeyComplaint {
  file: string;
  line: number;
  section: string;
  /** Absent for an unknown section. */
  key?: string;
}

export interface SystemdHost {
  /** The installed systemd's version (252), or null when there is none to ask. */
  version: number | null;
  /** The unknown keys and sections `systemd-analyze verify` reports, or null when it cannot be run. */
  unknownKeys(unit: Unit): KeyComplaint[] | null;
}

const TIMEOUT_MS = 15_000;

/** The systemd of this machine, asked through `systemctl --version` and `systemd-analyze`. */
export function installedSystemd(): SystemdHost {
  let analyzeMissing = false;
  return {
    version: systemdVersion(),
    unknownKeys(unit) {
      if (analyzeMissing) return null;
      const result = verifyUnknownKeys(unit);
      if (result === null) analyzeMissing = true;
      return result;
    },
  };
}

function systemdVersion(): number | null {
  for (const tool of ["systemctl", "systemd-analyze"]) {
    const run = spawnSync(tool, ["--version"], { encoding: "utf8", timeout: TIMEOUT_MS });
    const match = /^systemd (\d+)/m.exec(run.stdout ?? "");
    if (match) return Number(match[1]);
  }
  return null;
}

const UNIT_SUFFIX = /\.(service|socket|timer|path|mount|automount|swap|target|slice|scope|device)$/;
const UNKNOWN_KEY =
  /^(.+?):(\d+): Unknown (?:key|lvalue) '([^']*)' in section \[?'?([^\]']*)'?\]?, ignoring\.?$/;
const UNKNOWN_SECTION = /^(.+?):(\d+): Unknown section '([^']*)'\. Ignoring\.?$/;

/**
 * Runs `systemd-analyze verify --man=no` on copies of the unit and its drop-ins and maps its "Unknown key"
 * and "Unknown section" lines back to the real files. The copies have every `Exec*=` command replaced by
 * `/bin/true`, line for line: systemd stops parsing at a command it cannot use (a relative path), which
 * would hide the keys after it. Returns null when systemd-analyze cannot be run at all.
 */
export function verifyUnknownKeys(unit: Unit): KeyComplaint[] | null {
  const dir = mkdtempSync(join(tmpdir(), "hermes-lint-service-"));
  try {
    const name = UNIT_SUFFIX.test(unit.name) ? unit.name : `${unit.name}.service`;
    const copies = new Map<string, string>();
    const mainCopy = join(dir, name);
    writeFileSync(mainCopy, neutralized(unit.main));
    copies.set(mainCopy, unit.main.path);
    if (unit.dropIns.length > 0) {
      mkdirSync(join(dir, `${name}.d`));
      for (const dropIn of unit.dropIns) {
        const copy = join(dir, `${name}.d`, basename(dropIn.path));
        writeFileSync(copy, neutralized(dropIn));
        copies.set(copy, dropIn.path);
      }
    }
    const run = spawnSync("systemd-analyze", ["verify", "--man=no", mainCopy], {
      encoding: "utf8",
      timeout: TIMEOUT_MS,
      env: { ...process.env, LC_ALL: "C", SYSTEMD_LOG_COLOR: "0", SYSTEMD_COLORS: "0" },
    });
    if (run.error || run.status === null) return null;
    const complaints: KeyComplaint[] = [];
    for (const line of `${run.stderr}\n${run.stdout}`.split("\n")) {
      const key = UNKNOWN_KEY.exec(line.trim());
      const section = key ? undefined : UNKNOWN_SECTION.exec(line.trim());
      const match = key ?? section;
      if (!match) continue;
      // Lines about other files (the host's own drop-ins for a unit of the same name) are not ours to map.
      const file = copies.get(match[1]!);
      if (file === undefined) continue;
      if (key) complaints.push({ file, line: Number(key[2]), key: key[3]!, section: key[4]! });
      else complaints.push({ file, line: Number(match[2]), section: match[3]! });
    }
    return complaints;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The file's text with each `Exec*=` command made harmless, keeping every line where it was. */
function neutralized(file: UnitFile): string {
  const lines = file.text.split("\n");
  for (const a of file.assignments) {
    if (!a.key.startsWith("Exec") || a.value === "") continue;
    lines[a.line - 1] = `${a.key}=/bin/true`;
    for (let l = a.line; l < a.endLine; l++) lines[l] = "";
  }
  return lines.join("\n");
}

/** An installed hermes unit: where it was found decides its drop-in search path. */
export interface InstalledUnit {
  path: string;
  scope: Scope;
}

const HERMES_UNIT = /^hermes-(gateway|cron).*\.service$/;

/**
 * The hermes units installed on this machine: `hermes-gateway*.service` and `hermes-cron*.service` in the
 * system directory and in the user's. Masked units (links to /dev/null) are reported apart.
 */
export function findInstalledUnits(dirs: { system: string; user: string }): {
  units: InstalledUnit[];
  masked: string[];
} {
  const units: InstalledUnit[] = [];
  const masked: string[] = [];
  for (const scope of ["system", "user"] as const) {
    let names: string[];
    try {
      names = readdirSync(dirs[scope]).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      if (!HERMES_UNIT.test(name)) continue;
      const path = join(dirs[scope], name);
      let real: string;
      try {
        real = realpathSync(path);
      } catch {
        // A dangling link: reading it fails later and says so.
        units.push({ path, scope });
        continue;
      }
      if (real === "/dev/null") masked.push(path);
      else units.push({ path, scope });
    }
  }
  return { units, masked };
}
