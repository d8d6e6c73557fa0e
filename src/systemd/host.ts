/**
 * What install-service and uninstall-service ask of the machine: accounts, the systemd version, whether systemd
 * runs, and systemctl/loginctl themselves.
 *
 * Test hooks (environment variables read only here, so the commands can be tested without a running systemd):
 * - `HERMES_SYSTEMCTL`: the systemctl program to run (a fake that records its arguments); setting it also counts
 *   as "systemd is running".
 * - `HERMES_LOGINCTL`: the loginctl program to run.
 * - `HERMES_SYSTEMD_UNIT_DIR`: the directory units are written to, for both kinds of unit.
 * - `HERMES_SYSTEMD_VERSION`: the systemd major version to render for, instead of asking systemctl.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { UnitKind } from "./render.ts";

export interface Account {
  name: string;
  uid: number;
  gid: number;
  /** The home directory from the password database. */
  home: string;
  /** The name of the primary group (its number when it has no name). */
  group: string;
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
  /** The program could not be run at all (not installed). */
  missing: boolean;
}

function run(program: string, args: readonly string[], timeoutMs = 120_000): Result {
  const r = spawnSync(program, args, { encoding: "utf8", timeout: timeoutMs });
  const missing = (r.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
  return {
    code: r.status ?? (r.error ? 127 : 1),
    stdout: r.stdout ?? "",
    stderr: r.stderr ?? (r.error ? r.error.message : ""),
    missing,
  };
}

/** One line of the password or group database, from getent (which also sees LDAP and friends) or the file. */
function database(db: "passwd" | "group", key: string): string[] | undefined {
  const r = run("getent", [db, key], 10_000);
  let line: string | undefined;
  if (!r.missing) line = r.code === 0 ? r.stdout.split("\n")[0] : undefined;
  else {
    const numeric = /^\d+$/.test(key);
    try {
      line = readFileSync(`/etc/${db}`, "utf8")
        .split("\n")
        .find((l) => {
          const f = l.split(":");
          return numeric ? f[2] === key : f[0] === key;
        });
    } catch {
      line = undefined;
    }
  }
  return line ? line.split(":") : undefined;
}

/** An account by name or uid, or undefined when the machine has none such. */
export function lookupAccount(nameOrUid: string | number): Account | undefined {
  const fields = database("passwd", String(nameOrUid));
  if (!fields || fields.length < 7) return undefined;
  const [name, , uid, gid, , home] = fields as [string, string, string, string, string, string];
  const group = database("group", gid)?.[0] ?? gid;
  return { name, uid: Number(uid), gid: Number(gid), home, group };
}

/** The account running this process. */
export function currentAccount(): Account | undefined {
  return lookupAccount(process.getuid?.() ?? 0);
}

export function systemctlProgram(): string {
  return process.env.HERMES_SYSTEMCTL || "systemctl";
}

/** systemd runs as the service manager of this machine (sd_booted(3): /run/systemd/system exists). */
export function systemdRunning(): boolean {
  return !!process.env.HERMES_SYSTEMCTL || existsSync("/run/systemd/system");
}

/** `systemctl [--user] ARGS…` */
export function systemctl(kind: UnitKind, args: readonly string[]): Result {
  return run(systemctlProgram(), [...(kind === "user" ? ["--user"] : []), ...args]);
}

/** The systemd major version (`systemd 252 (252.38-1~deb12u1)`), or undefined when it cannot be told. */
export function systemdVersion(): number | undefined {
  const forced = process.env.HERMES_SYSTEMD_VERSION;
  if (forced && /^\d+$/.test(forced)) return Number(forced);
  const r = run(systemctlProgram(), ["--version"], 10_000);
  const match = /^systemd (\d+)/.exec(r.stdout);
  return r.code === 0 && match ? Number(match[1]) : undefined;
}

/** `systemctl show` properties as a map. */
export function showUnit(
  kind: UnitKind,
  unit: string,
  properties: readonly string[],
): Record<string, string> {
  const r = systemctl(kind, ["show", "--no-pager", "-p", properties.join(","), unit]);
  const map: Record<string, string> = {};
  for (const line of r.stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) map[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return map;
}

/** Whether the user's services outlive their sessions; undefined when logind cannot tell. */
export function lingerEnabled(user: string): boolean | undefined {
  const r = run(process.env.HERMES_LOGINCTL || "loginctl", ["show-user", user, "-p", "Linger"], 10_000);
  const match = /^Linger=(yes|no)$/m.exec(r.stdout);
  return r.code === 0 && match ? match[1] === "yes" : undefined;
}

/** Where units of this kind live: /etc/systemd/system, or the account's ~/.config/systemd/user. */
export function unitDirectory(kind: UnitKind, account: Account): string {
  const forced = process.env.HERMES_SYSTEMD_UNIT_DIR;
  if (forced) return forced;
  return kind === "system" ? "/etc/systemd/system" : join(account.home, ".config", "systemd", "user");
}

/** Whether this process may create files in `dir`, or in the first ancestor of it that exists. */
export function canWriteUnder(dir: string): boolean {
  let d = dir;
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  try {
    accessSync(d, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `account` can execute `path`, judged from modes and owners along the path (supplementary groups are
 * not considered, so a "no" may be wrong; a "yes" is not). Root may execute anything executable.
 */
export function canExecuteAs(path: string, account: Account): boolean {
  const allows = (p: string, bits: { u: number; g: number; o: number }): boolean => {
    const st = statSync(p);
    if (account.uid === 0) return true;
    if (st.uid === account.uid) return (st.mode & bits.u) !== 0;
    if (st.gid === account.gid) return (st.mode & bits.g) !== 0;
    return (st.mode & bits.o) !== 0;
  };
  try {
    const search = { u: 0o100, g: 0o010, o: 0o001 };
    for (let d = dirname(path); ; d = dirname(d)) {
      if (!allows(d, search)) return false;
      if (dirname(d) === d) break;
    }
    const st = statSync(path);
    if (account.uid === 0) return (st.mode & 0o111) !== 0;
    return allows(path, search);
  } catch {
    return false;
  }
}
