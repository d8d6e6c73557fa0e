/**
 * systemd units rendered from the templates in `systemd-templates/` (embedded by scripts/gen-templates.mjs): a
 * pure function of the component, the kind of unit, the paths, the user and the systemd version. SPEC §8 says
 * what every unit holds; docs/systemd.md says why.
 */
import { HARD_DEADLINE_GRACE_MS } from "../gateway/gateway.ts";
import { VERSION } from "../version.ts";
import { UNIT_TEMPLATES } from "./templates.gen.ts";

export type Component = "gateway" | "cron";
export type UnitKind = "user" | "system";

export interface UnitOptions {
  component: Component;
  kind: UnitKind;
  /** Absolute path of the hermes binary, written literally into ExecStart=. */
  binary: string;
  /** Absolute HERMES_HOME. */
  home: string;
  /** The user the service runs as (User= of system units). */
  user: string;
  /** That user's group (Group= of system units). */
  group: string;
  /** Instance name: the unit becomes hermes-<component>-<name>.service. */
  name?: string;
  /** Major version of the systemd that will load the unit; keys it does not know are left out. */
  systemdVersion: number;
  /** gateway.drain_timeout of the configuration. */
  drainTimeoutMs: number;
  /** @default 60 */
  watchdogSec?: number;
  /** @default 10; never below 2 */
  restartSec?: number;
  /** Written into the marker line. @default the running version */
  version?: string;
}

export const DEFAULT_WATCHDOG_SEC = 60;
export const DEFAULT_RESTART_SEC = 10;
export const MIN_RESTART_SEC = 2;
/** Margin above the gateway's own hard deadline before systemd may SIGKILL it. */
const STOP_MARGIN_SEC = 5;

/** First words of every unit hermes writes: how install-service tells its own units from others. */
export const UNIT_MARKER = "# Written by hermes install-service";

/** Keys newer than some systemd version still in use (systemd warns about, and ignores, keys it does not know). */
export const KEY_SINCE: Readonly<Record<string, number>> = {
  ProtectHostname: 242,
  RestrictSUIDSGID: 242,
  ProtectKernelLogs: 244,
  ProtectClock: 245,
  ProtectProc: 247,
};

/** `hermes-gateway.service`, `hermes-cron-<name>.service`. */
export function unitName(component: Component, name?: string): string {
  return `hermes-${component}${name ? `-${name}` : ""}.service`;
}

/** Whether a unit file's text was written by `hermes install-service`. */
export function isHermesUnit(text: string): boolean {
  return text.startsWith(UNIT_MARKER);
}

/** TimeoutStopSec= for a drain timeout: above the drain plus the gateway's hard-deadline grace, in seconds. */
export function timeoutStopSec(drainTimeoutMs: number): number {
  return Math.ceil((drainTimeoutMs + HARD_DEADLINE_GRACE_MS) / 1000) + STOP_MARGIN_SEC;
}

/**
 * The control socket moves to a short path under /tmp when `<home>/run/gateway.sock` is too long for a unix
 * socket (src/gateway/run.ts controlSocketPath); the CLI must then find it in the real /tmp, not a private one.
 */
export function socketLeavesHome(home: string): boolean {
  return new TextEncoder().encode(`${home}/run/gateway.sock`).length > 100;
}

/** Renders the unit text. Throws RangeError on values no unit should hold. */
export function renderUnit(options: UnitOptions): string {
  const watchdogSec = options.watchdogSec ?? DEFAULT_WATCHDOG_SEC;
  const restartSec = options.restartSec ?? DEFAULT_RESTART_SEC;
  checkPath("binary", options.binary);
  checkPath("home", options.home);
  if (!Number.isInteger(watchdogSec) || watchdogSec < 1)
    throw new RangeError(`watchdogSec must be a whole number of seconds ≥ 1, not ${watchdogSec}`);
  if (!Number.isFinite(restartSec) || restartSec < MIN_RESTART_SEC)
    throw new RangeError(`restartSec must be at least ${MIN_RESTART_SEC} s, not ${restartSec}`);
  if (!Number.isFinite(options.drainTimeoutMs) || options.drainTimeoutMs < 0)
    throw new RangeError(`drainTimeoutMs must be a duration, not ${options.drainTimeoutMs}`);
  if (!Number.isInteger(options.systemdVersion) || options.systemdVersion < 1)
    throw new RangeError(`systemdVersion must be a systemd major version, not ${options.systemdVersion}`);
  if (options.name !== undefined) checkInstanceName(options.name);
  if (options.kind === "system") {
    checkAccountName("user", options.user);
    checkAccountName("group", options.group);
  }

  const unit = unitName(options.component, options.name);
  const system = options.kind === "system";
  const what = options.component === "gateway" ? "hermes messaging gateway" : "hermes scheduler";
  const sharedTmp = socketLeavesHome(options.home);
  const values: Record<string, string> = {
    version: options.version ?? VERSION,
    unit,
    userFlag: system ? "" : " --user",
    description: options.name ? `${what} (${options.name})` : what,
    binary: quoteWord(options.binary, { dollar: true }),
    watchdogSec: String(watchdogSec),
    restartSec: String(restartSec),
    timeoutStopSec: String(timeoutStopSec(options.drainTimeoutMs)),
    workingDirectory: escapePercent(options.home),
    homeEnvironment: quoteWord(`HERMES_HOME=${options.home}`),
    user: options.user,
    group: options.group,
    readWritePaths: [options.home, ...(sharedTmp ? ["/tmp"] : [])].map((p) => quoteWord(p)).join(" "),
  };
  const flags: Record<string, boolean> = { system, user: !system, privateTmp: !sharedTmp };
  const template = UNIT_TEMPLATES[`hermes-${options.component}.service`];
  if (template === undefined) throw new RangeError(`there is no unit template for "${options.component}"`);
  return dropUnknownKeys(fill(template, values, flags), options.systemdVersion);
}

/**
 * The template language: `{{name}}` is replaced by a value (already escaped for its place), and lines
 * between `{{#flag}}` and `{{/flag}}` are kept only when the flag is set. A name the renderer does not
 * supply is an error, so a typo in a template cannot reach a unit.
 */
export function fill(
  template: string,
  values: Record<string, string>,
  flags: Record<string, boolean>,
): string {
  const out: string[] = [];
  const open: { flag: string; keep: boolean }[] = [];
  for (const line of template.split("\n")) {
    const block = /^\{\{([#/])(\w+)\}\}$/.exec(line.trim());
    if (block) {
      const [, sign, flag] = block as unknown as [string, string, string];
      if (!(flag in flags)) throw new RangeError(`unit template: unknown condition "${flag}"`);
      if (sign === "#") open.push({ flag, keep: flags[flag] === true });
      else if (open.pop()?.flag !== flag)
        throw new RangeError(`unit template: "{{/${flag}}}" closes nothing`);
      continue;
    }
    if (open.some((o) => !o.keep)) continue;
    out.push(
      line.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
        const value = values[name];
        if (value === undefined) throw new RangeError(`unit template: unknown value "{{${name}}}"`);
        return value;
      }),
    );
  }
  if (open.length > 0) throw new RangeError(`unit template: "{{#${open[0]!.flag}}}" is never closed`);
  return out.join("\n");
}

function dropUnknownKeys(text: string, systemdVersion: number): string {
  return text
    .split("\n")
    .filter((line) => {
      const since = KEY_SINCE[line.split("=", 1)[0]!];
      return since === undefined || systemdVersion >= since;
    })
    .join("\n");
}

/** `%` starts a specifier in almost every value; `%%` is a literal one. */
function escapePercent(text: string): string {
  return text.replaceAll("%", "%%");
}

/**
 * One word of a value that systemd splits into words (ExecStart=, Environment=, ReadWritePaths=), per
 * systemd.syntax(7): plain when it is, else double-quoted with `\` and `"` escaped. In ExecStart= a `$` starts
 * a variable, so it is doubled there.
 */
function quoteWord(text: string, options: { dollar?: boolean } = {}): string {
  let word = escapePercent(text);
  if (options.dollar) word = word.replaceAll("$", () => "$$");
  if (/^[A-Za-z0-9_./,:@+=-]+$/.test(word)) return word;
  return `"${word.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function checkPath(what: string, path: string): void {
  if (!path.startsWith("/")) throw new RangeError(`${what} must be an absolute path, not "${path}"`);
  // Control characters cannot be written in a unit line; surrounding blanks are stripped by systemd's parser.
  if (/[\u0000-\u001f\u007f]/.test(path) || path.trim() !== path)
    throw new RangeError(`${what} path ${JSON.stringify(path)} has characters a unit file cannot hold`);
}

/** Instance names become part of the unit name; systemd allows little there. */
export function checkInstanceName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name))
    throw new RangeError(
      `instance name "${name}" must be letters, digits, "_", "." or "-" (at most 64, starting with a letter or digit)`,
    );
}

function checkAccountName(what: string, name: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(name))
    throw new RangeError(
      `${what} name "${name}" is not one systemd accepts in ${what === "user" ? "User" : "Group"}=`,
    );
}
