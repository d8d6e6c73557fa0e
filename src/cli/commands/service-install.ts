/**
 * `hermes install-service`: lint the configuration as the service will see it, render the unit, write it
 * atomically (showing what changes), then daemon-reload, enable, start, and wait until systemd reports the
 * service running or failed.
 */
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { InputError, loadConfig } from "../../config/load.ts";
import { UsageError } from "../../errors.ts";
import { writeFileAtomic } from "../../fs/atomic.ts";
import { summarize } from "../../lint/diagnostic.ts";
import { formatHuman } from "../../lint/format/human.ts";
import { Redactor } from "../../lint/redact.ts";
import { lintLoaded } from "../../lint/run.ts";
import { loadRuntime } from "../../runtime/index.ts";
import { unifiedDiff } from "../../systemd/diff.ts";
import {
  type Account,
  canExecuteAs,
  canWriteUnder,
  lingerEnabled,
  showUnit,
  systemctl,
  systemdRunning,
  systemdVersion,
} from "../../systemd/host.ts";
import { isHermesUnit, renderUnit, timeoutStopSec } from "../../systemd/render.ts";
import { colors, err, out } from "../output.ts";
import { Refused, resolveKind, resolveRunAs, resolveTarget, serviceHome, type Target } from "./service.ts";
import { waitForStart } from "./service-wait.ts";

/** systemd's default PATH for services: what the service sees, not this shell's PATH. */
const SERVICE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const ASSUMED_SYSTEMD = 252;
const READY_WAIT_S = 30;

const note = (text: string) => err(`note: ${text}`);

export async function install(args: Record<string, unknown>): Promise<number> {
  const dryRun = args["dry-run"] === true;
  const force = args.force === true;
  const kind = resolveKind(args);
  const account = resolveRunAs(args, kind);
  const target = resolveTarget(args, kind, account);
  const home = serviceHome(args.home, account);
  const binary = await resolveBinary(args.binary);

  if (!dryRun) {
    if (!systemdRunning())
      throw new Refused(
        "systemd is not running on this machine (PID 1 is not systemd), so there is nothing to install a unit into; hermes install-service --dry-run prints the unit instead.",
      );
    if (!canWriteUnder(target.dir))
      throw new Refused(
        kind === "system"
          ? `Cannot write ${target.dir}: a system unit needs root (run it with sudo), or install a user unit with --user.`
          : `Cannot write ${target.dir}: check who owns it.`,
      );
  }

  const drainTimeoutMs = lintForService(home, account, force);
  let version = systemdVersion();
  if (version === undefined) {
    version = ASSUMED_SYSTEMD;
    note(`could not ask systemctl for the systemd version; the unit is written for systemd ${version}`);
  }
  const text = renderUnit({
    component: target.component,
    kind,
    binary,
    home,
    user: account.name,
    group: account.group,
    name: target.name,
    systemdVersion: version,
    drainTimeoutMs,
  });
  const existing = existsSync(target.path) ? readFileSync(target.path, "utf8") : undefined;

  if (dryRun) {
    out(text);
    note(
      `dry run: ${target.path} (${kind} unit${kind === "system" ? ` running as ${account.name}` : ""}, HERMES_HOME=${home}, systemd ${version}); nothing was written`,
    );
    if (existing !== undefined && !isHermesUnit(existing))
      note(`${target.path} exists and was not written by hermes; installing over it needs --force`);
    return 0;
  }

  if (existing !== undefined && !isHermesUnit(existing) && !force)
    throw new Refused(foreignUnit(target, existing));
  if (!force) refuseSharedHome(target, text, home);
  if (kind === "system" && !force && !canExecuteAs(binary, account))
    throw new Refused(
      `${account.name} cannot execute ${binary} (a directory on the way or the file itself does not allow it); install hermes where ${account.name} can run it and pass --binary, or use --force.`,
    );
  ensureHome(home, account);

  const before = showUnit(kind, target.unit, ["ActiveState", "InvocationID"]);
  const wasActive = before.ActiveState === "active" || before.ActiveState === "reloading";
  if (existing === text && wasActive) {
    out(
      `${target.unit} is installed as it would be written and is running; nothing changed (${target.path})\n`,
    );
    return 0;
  }
  if (existing !== undefined && existing !== text)
    out(unifiedDiff(existing, text, { from: `${target.path} (installed)`, to: `${target.path} (new)` }));
  mkdirSync(target.dir, { recursive: true, mode: 0o755 });
  writeFileAtomic(target.path, text, { mode: 0o644 });
  if (existing === undefined) out(`wrote ${target.path}\n`);
  else if (existing !== text) out(`replaced ${target.path}\n`);

  step(target, ["daemon-reload"]);
  step(target, ["enable", target.unit]);
  if (args.start === false) {
    out(
      `${target.unit} is installed and enabled, not started (--no-start); start it with: ${ctl(target)} start ${target.unit}\n`,
    );
    checkLinger(target);
    return 0;
  }
  step(target, ["--no-block", wasActive ? "restart" : "start", target.unit]);
  // A restart first waits for the running process to drain, under the stop timeout it was started with.
  const oldStop = Number(/^TimeoutStopSec=(\d+)$/m.exec(existing ?? "")?.[1] ?? 0);
  const bound = READY_WAIT_S + (wasActive ? Math.max(oldStop, timeoutStopSec(drainTimeoutMs)) : 0);
  const outcome = await waitForStart(target, before.InvocationID ?? "", bound);
  if (!outcome.ok) {
    err(`${target.unit} did not start: ${outcome.reason}.`);
    err(`See: ${journal(target)} -n 50`);
    return 1;
  }
  out(summary(target, binary, home));
  checkLinger(target);
  return 0;
}

async function resolveBinary(flag: unknown): Promise<string> {
  if (typeof flag === "string" && flag !== "") {
    const path = resolve(flag);
    let ok = false;
    try {
      const st = statSync(path);
      ok = st.isFile() && (st.mode & 0o111) !== 0;
    } catch {
      ok = false;
    }
    if (!ok) throw new UsageError(`--binary ${path} is not an executable file`);
    return path;
  }
  const [executable, script] = (await loadRuntime()).selfCommand();
  if (script.length > 0)
    throw new Refused(
      `The unit must run the hermes binary, but this is ${basename(executable)} running ${script.at(-1)}; run install-service from the compiled hermes binary, or pass --binary /path/to/hermes.`,
    );
  return executable;
}

/**
 * Lints with the files and environment the service will have ($HERMES_HOME/.env, not this shell's variables)
 * and refuses on errors unless forced. Returns the drain timeout, which sizes TimeoutStopSec=.
 */
function lintForService(home: string, account: Account, force: boolean): number {
  const serviceEnv = {
    HOME: account.home,
    USER: account.name,
    LOGNAME: account.name,
    PATH: SERVICE_PATH,
    HERMES_HOME: home,
  };
  const lint = (env: Record<string, string | undefined>) => {
    let load: ReturnType<typeof loadConfig>;
    try {
      load = loadConfig({ home, env });
    } catch (error) {
      if (error instanceof InputError) throw new UsageError(error.message);
      throw error;
    }
    const redactor = new Redactor(load.secrets);
    const diagnostics = lintLoaded(load).map((d) => redactor.diagnostic(d));
    return { load, diagnostics, summary: summarize(diagnostics) };
  };
  const { load, diagnostics, summary } = lint(serviceEnv);
  const errors = `${summary.errors} error${summary.errors === 1 ? "" : "s"}`;
  if (summary.errors > 0) {
    const files = [load.configFile.path, ...(load.envFile.exists ? [load.envFile.path] : [])];
    err(formatHuman(diagnostics, summary, files, colors(process.stderr)).trimEnd());
    if (lint(process.env).summary.errors < summary.errors)
      note(
        `this shell's environment hides some of these, but the service will not have it: put the variables in ${load.envFile.path}`,
      );
    if (!force)
      throw new Refused(
        `Refusing to install: the configuration in ${home} has ${errors}, checked as the service will read it (fix them, or use --force).`,
      );
    note(`installing despite ${errors} (--force)`);
  } else if (summary.warnings > 0) {
    note(
      `the configuration has ${summary.warnings} warning${summary.warnings === 1 ? "" : "s"}; hermes lint config --home ${home} shows them`,
    );
  }
  return load.config.gateway.drain_timeout;
}

function foreignUnit(target: Target, text: string): string {
  const exec = /^ExecStart=(.*)$/m.exec(text)?.[1]?.trim();
  const upstream = exec !== undefined && /hermes_cli|python/.test(exec);
  return [
    `${target.path} exists and was not written by hermes install-service.`,
    ...(exec ? [`  It runs: ${exec}`] : []),
    upstream
      ? "That is upstream's Python gateway (hermes-agent). Installing replaces it: the old gateway stops and hermes runs in its place (two gateways on one bot token would fight)."
      : "Installing replaces that unit with hermes's own.",
    "Run again with --force to replace it.",
  ].join("\n");
}

/** Two gateways (or two schedulers) on one home: the second would wait on the lock forever. */
function refuseSharedHome(target: Target, text: string, home: string): void {
  const environment = /^Environment=.*$/m.exec(text)?.[0];
  let names: string[];
  try {
    names = readdirSync(target.dir);
  } catch {
    return;
  }
  for (const other of names) {
    if (other === target.unit || !new RegExp(`^hermes-${target.component}(-.+)?\\.service$`).test(other))
      continue;
    let body: string;
    try {
      body = readFileSync(`${target.dir}/${other}`, "utf8");
    } catch {
      continue;
    }
    if (isHermesUnit(body) && environment && body.split("\n").includes(environment))
      throw new Refused(
        `${other} already runs a ${target.component} for ${home}, and two cannot share one home; give this one its own --home, or remove that one with hermes uninstall-service (or use --force).`,
      );
  }
}

/** The home must exist before the unit starts: ReadWritePaths= and WorkingDirectory= fail on a missing one. */
function ensureHome(home: string, account: Account): void {
  if (existsSync(home)) {
    const st = statSync(home);
    if (account.uid !== 0 && st.uid !== account.uid)
      note(
        `${home} belongs to uid ${st.uid}, not ${account.name}: the service may not be able to write there`,
      );
    return;
  }
  // Parents other users must pass through stay 0755; the home itself is 0700 and the service user's.
  mkdirSync(dirname(home), { recursive: true, mode: 0o755 });
  mkdirSync(home, { mode: 0o700 });
  if (process.getuid?.() === 0 && account.uid !== 0) chownSync(home, account.uid, account.gid);
  out(`created ${home}\n`);
}

function step(target: Target, args: string[]): void {
  const r = systemctl(target.kind, args);
  if (r.missing)
    throw new Refused(
      "systemctl is not installed; hermes install-service --dry-run prints the unit instead.",
    );
  if (r.code !== 0) {
    const why = r.stderr.trim().split("\n")[0] || `exit ${r.code}`;
    // The usual cause for a user unit: no user manager to talk to (sudo or su sessions have none).
    const hint =
      target.kind === "user" && /bus|XDG_RUNTIME_DIR/i.test(why)
        ? `; a user unit needs ${target.account.name}'s own systemd, reachable from a login session of ${target.account.name} (not su or sudo)`
        : "";
    throw new Refused(`${ctl(target)} ${args.join(" ")} failed: ${why}${hint}`);
  }
}

function ctl(target: Target): string {
  return target.kind === "user" ? "systemctl --user" : "systemctl";
}

function journal(target: Target): string {
  return `journalctl ${target.kind === "user" ? "--user " : ""}-u ${target.unit}`;
}

function summary(target: Target, binary: string, home: string): string {
  const uninstall = [
    "hermes uninstall-service",
    `--${target.kind}`,
    ...(target.name ? [`--name ${target.name}`] : []),
    ...(target.component === "cron" ? ["--component cron"] : []),
  ].join(" ");
  const status =
    target.component === "gateway"
      ? `hermes gateway status --home ${home}`
      : `hermes cron status --home ${home}`;
  const rows = [
    ["unit", target.path],
    [
      "runs",
      `${binary} ${target.component === "gateway" ? "gateway run" : "cron serve"}${target.kind === "system" ? ` as ${target.account.name}` : ""}, HERMES_HOME=${home}`,
    ],
    ["status", `${ctl(target)} status ${target.unit}   or   ${status}`],
    ["logs", `${journal(target)} -f`],
    ["reload", `${ctl(target)} reload ${target.unit}   (re-reads config.yaml and .env)`],
    ["uninstall", uninstall],
  ];
  return `${target.unit} is installed, enabled and running\n${rows.map(([k, v]) => `  ${k!.padEnd(10)} ${v}`).join("\n")}\n`;
}

/** A user unit stops with its user's last session and waits for a login at boot, unless linger is on. */
function checkLinger(target: Target): void {
  if (target.kind !== "user") return;
  const user = target.account.name;
  const linger = lingerEnabled(user);
  if (linger === true) return;
  const effect = `${user}'s services stop when their last session ends and do not start at boot`;
  if (linger === false)
    note(`linger is off for ${user}: ${effect}. Turn it on with: sudo loginctl enable-linger ${user}`);
  else
    note(
      `could not ask logind whether linger is on for ${user}; without it ${effect} (sudo loginctl enable-linger ${user})`,
    );
}
