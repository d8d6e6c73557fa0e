/**
 * The `service-*` rules of `hermes lint service`: what in a systemd unit breaks the gateway's restarts
 * (SPEC §8). Each takes a unit with its drop-ins applied and reports findings at the line in force.
 */
import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import * as v from "valibot";
import type { Location } from "../../config/load.ts";
import { InputError, loadConfig } from "../../config/load.ts";
import { configSchema } from "../../config/schema.ts";
import { HARD_DEADLINE_GRACE_MS } from "../../gateway/gateway.ts";
import type { SystemdHost } from "../../systemd/lint-host.ts";
import { keySince, keysOf, knowsKey, knowsSection } from "../../systemd/lint-keys.ts";
import {
  DEFAULT_RESTART_SEC,
  DEFAULT_TIMEOUT_STOP,
  notifyAccess,
  OUTCOMES,
  type Outcome,
  restartBackoff,
  restartGaps,
  restartRules,
  restartSec,
  restarts,
  serviceType,
  startLimit,
  startLimitTrip,
  stopTimeout,
  watchdogSec,
} from "../../systemd/lint-semantics.ts";
import {
  type Assignment,
  type Command,
  formatSpan,
  parseCommand,
  parseEnvironment,
  type Scope,
  type Unit,
} from "../../systemd/unit-file.ts";
import type { Finding } from "../rule.ts";
import { suggest } from "../suggest.ts";

export interface ServiceContext {
  unit: Unit;
  systemd: SystemdHost;
  /** Files the unit names (binaries, homes, /etc/passwd) are looked up under this directory; "/" normally. */
  root: string;
  /** `--home`: the home whose config gives the drain timeout, over what the unit names. */
  home?: string;
  /** Where the unit was found installed; undefined for a file named on the command line. */
  scope?: Scope;
  /** The home directory of the user running the lint: a user unit runs as this user. */
  userHome?: string;
}

export interface ServiceRule {
  id: string;
  check(ctx: ServiceContext): Finding[];
}

/** hermes's own floor for RestartSec= (SPEC §8). */
export const MIN_RESTART_SEC = 2_000;

const FIX_RESTART_EXITS = "RestartForceExitStatus=75, SuccessExitStatus=75 and RestartPreventExitStatus=78";

function at(a: Assignment, offset?: number): Location {
  const pos = offset === undefined ? { line: a.line, column: a.column } : a.at(offset);
  return { file: a.file, path: `${a.section}.${a.key}`, ...pos };
}

function atSection(unit: Unit, section: string): Location {
  const where = unit.sectionAt(section);
  return { file: where.file, path: section, line: where.line, column: where.column };
}

function finding(location: Location, message: string, hint?: string, extra: Partial<Finding> = {}): Finding {
  return { ...location, message, ...(hint ? { hint } : {}), ...extra };
}

/** The ExecStart= line in force and its command, or why there is none. */
function execStart(unit: Unit): { at?: Assignment; command?: Command; error?: string } {
  const last = unit.list("Service.ExecStart").at(-1);
  if (!last) return {};
  try {
    return { at: last, command: parseCommand(last.value) };
  } catch (error) {
    return { at: last, error: (error as Error).message };
  }
}

export const serviceReplaceFlag: ServiceRule = {
  id: "service-replace-flag",
  check({ unit }) {
    const findings: Finding[] = [];
    for (const a of unit.list("Service.ExecStart")) {
      const match = /(^|\s|["'])--replace(?=$|[\s="'])/.exec(a.value);
      if (!match) continue;
      findings.push(
        finding(
          at(a, match.index + match[1]!.length),
          "ExecStart= passes --replace: on every restart the new process kills the old one, which systemd is still stopping, and the two fight over the lock; systemd already guarantees one instance",
          "remove --replace; hermes has no such flag and refuses to start with it",
        ),
      );
    }
    return findings;
  },
};

export const serviceExit75: ServiceRule = {
  id: "service-exit-75",
  check({ unit }) {
    const rules = restartRules(unit);
    if (rules.force.codes.has(75) || rules.success.codes.has(75)) return [];
    const where = rules.forceAt.at(-1) ?? rules.successAt.at(-1);
    const location = where ? at(where) : atSection(unit, "Service");
    const policy = `Restart=${rules.policy}`;
    const consequence = restarts(rules, OUTCOMES.planned)
      ? `systemd records each one as a failure (the unit shows failed, OnFailure= units run) and restarts it only because of ${policy}`
      : rules.prevent.codes.has(75)
        ? "RestartPreventExitStatus= lists 75, so systemd never starts it again: a /restart leaves the gateway dead"
        : `under ${policy} systemd does not start it again, so a /restart leaves the gateway dead`;
    return [
      finding(
        location,
        `Neither RestartForceExitStatus= nor SuccessExitStatus= lists 75: hermes exits 75 after draining for a planned restart (/restart, SIGUSR1, hermes gateway restart), and ${consequence}`,
        "add RestartForceExitStatus=75 and SuccessExitStatus=75 to [Service]",
      ),
    ];
  },
};

export const serviceRestartPolicy: ServiceRule = {
  id: "service-restart-policy",
  check({ unit }) {
    const rules = restartRules(unit);
    const outcomes: Outcome[] = [OUTCOMES.planned, OUTCOMES.clean, OUTCOMES.crash, OUTCOMES.killed];
    if ((watchdogSec(unit)?.value ?? 0) > 0) outcomes.push(OUTCOMES.watchdog);
    const dead = outcomes.filter((o) => !restarts(rules, o));
    if (dead.length === 0) return [];
    const setting = rules.policySetting;
    const location = setting ? at(setting.at) : atSection(unit, "Service");
    const ignored = setting?.ignored
      ? ` (systemd ignores Restart=${setting.ignored.value}, which is not a policy it knows)`
      : "";
    const policy = setting?.value ? `Restart=${rules.policy}` : `Restart= is not set, so Restart=no applies`;
    const prevented = dead.filter(
      (o) => rules.prevent.codes.has(o.code ?? -1) || rules.prevent.signals.has(o.signal ?? ""),
    );
    const why =
      prevented.length > 0
        ? `; RestartPreventExitStatus= also lists ${prevented.map((o) => o.code ?? o.signal).join(" and ")}`
        : "";
    return [
      finding(
        location,
        `${policy}${ignored}: after ${list(dead.map((o) => o.label))} systemd does not start the gateway again, and it stays dead${why}`,
        `set Restart=always in [Service] (with ${FIX_RESTART_EXITS}, a configuration error still stops it)`,
      ),
    ];
  },
};

export const serviceExit78: ServiceRule = {
  id: "service-exit-78",
  check({ unit }) {
    const rules = restartRules(unit);
    if (rules.prevent.codes.has(78)) return [];
    const where = rules.preventAt.at(-1);
    const delay = restartSec(unit)?.value ?? DEFAULT_RESTART_SEC;
    const loops = restarts(rules, OUTCOMES.config);
    const consequence = loops
      ? `under Restart=${rules.policy} systemd starts it again every ${formatSpan(delay)} into the same error, forever`
      : `systemd's restart settings decide what happens next, and the Restart=always that a gateway needs would loop on it every ${formatSpan(delay)}`;
    return [
      finding(
        where ? at(where) : atSection(unit, "Service"),
        `RestartPreventExitStatus= does not list 78: hermes exits 78 when its configuration cannot be used, and ${consequence}`,
        "add RestartPreventExitStatus=78 to [Service]; fix the config, then systemctl restart the unit",
      ),
    ];
  },
};

export const serviceRestartSec: ServiceRule = {
  id: "service-restart-sec",
  check({ unit }) {
    const setting = restartSec(unit);
    const hint = "set RestartSec=10 in [Service] (2 s at the least)";
    const why =
      "a gateway that fails at start (a port in use, the lock still held) is restarted in a tight loop that floods the journal, and five starts in 10 s trip systemd's default start limit";
    if (!setting) {
      return [
        finding(
          atSection(unit, "Service"),
          `RestartSec= is not set, so systemd restarts after ${formatSpan(DEFAULT_RESTART_SEC)}: ${why}`,
          hint,
        ),
      ];
    }
    const ms = setting.value;
    if (ms === undefined) {
      return [
        finding(
          at(setting.at),
          `systemd ignores RestartSec=${setting.at.value} (not a time span), so it restarts after ${formatSpan(DEFAULT_RESTART_SEC)}: ${why}`,
          hint,
        ),
      ];
    }
    if (ms === Number.POSITIVE_INFINITY) {
      return [
        finding(
          at(setting.at),
          "RestartSec=infinity: systemd never gets around to restarting the gateway",
          hint,
        ),
      ];
    }
    if (ms >= MIN_RESTART_SEC) return [];
    const ignored = setting.ignored ? ` (systemd ignores the later RestartSec=${setting.ignored.value})` : "";
    return [finding(at(setting.at), `RestartSec=${setting.at.value} is under 2 s${ignored}: ${why}`, hint)];
  },
};

export const serviceStartLimit: ServiceRule = {
  id: "service-start-limit",
  check({ unit, systemd }) {
    const limit = startLimit(unit);
    const base = restartSec(unit)?.value ?? DEFAULT_RESTART_SEC;
    if (!Number.isFinite(base)) return [];
    const backoff = restartBackoff(unit, systemd.version);
    const gaps = restartGaps(base, backoff, limit.burst);
    const trip = startLimitTrip(limit, gaps);
    if (trip === null) return [];
    const where = limit.intervalSetting?.at ?? limit.burstSetting?.at;
    const location = where ? at(where) : atSection(unit, "Unit");
    const starts = `${limit.burst} start${limit.burst === 1 ? "" : "s"}`;
    const delay = backoff
      ? `RestartSec=${formatSpan(base)} growing over RestartSteps=${backoff.steps} to RestartMaxDelaySec=${formatSpan(backoff.maxDelay)}`
      : `RestartSec=${formatSpan(base)}`;
    const refused = `systemd refuses the next ("Start request repeated too quickly"), and the gateway stays dead until someone runs systemctl reset-failed; planned exit-75 restarts count as starts too`;
    const message =
      limit.interval === Number.POSITIVE_INFINITY
        ? `StartLimitIntervalSec=infinity never closes its counting window: after ${starts} in all, ${refused}`
        : `${limit.intervalSetting || limit.burstSetting ? "The start limit" : "systemd's default start limit"} of ${starts} in ${formatSpan(limit.interval)} can give up for good: with ${delay}, a restart loop makes ${starts} and asks for one more ${formatSpan(trip)} after the first; ${refused}`;
    const oldSystemd =
      systemd.version !== null && systemd.version < 254
        ? ` (systemd ${systemd.version} has no RestartSteps= backoff)`
        : " (on systemd 254 and newer, a bounded limit is fine together with RestartSteps= and RestartMaxDelaySec= that space the starts out)";
    return [finding(location, message, `set StartLimitIntervalSec=0 in [Unit]${oldSystemd}`)];
  },
};

/** Where the unit's gateway keeps its home, and how that was found. */
interface HomeGuess {
  home: string;
  configFile?: string;
  how: string;
}

function guessHome(ctx: ServiceContext, env: Map<string, { value: string }>): HomeGuess {
  const command = execStart(ctx.unit).command;
  const argv = command?.argv ?? [];
  const flag = (name: string) => {
    for (let i = 0; i < argv.length; i++) {
      if (argv[i] === `--${name}`) return argv[i + 1];
      if (argv[i]!.startsWith(`--${name}=`)) return argv[i]!.slice(name.length + 3);
    }
    return undefined;
  };
  // hermes reads a relative --config from its working directory.
  const cwd = ctx.unit.scalar(
    "Service.WorkingDirectory",
    (v) => v.trim().replace(/^-/, "") || undefined,
  )?.value;
  const configArg = flag("config");
  const configFile =
    configArg === undefined || isAbsolute(configArg)
      ? configArg
      : join(cwd?.startsWith("/") ? cwd : "/", configArg);
  const withConfig = (g: HomeGuess): HomeGuess => (configFile ? { ...g, configFile } : g);
  if (ctx.home) return withConfig({ home: ctx.home, how: "--home" });
  const fromArgv = flag("home");
  if (fromArgv) return withConfig({ home: fromArgv, how: "ExecStart= --home" });
  const hermesHome = env.get("HERMES_HOME")?.value;
  if (hermesHome) return withConfig({ home: hermesHome, how: "Environment=HERMES_HOME" });
  const home = env.get("HOME")?.value;
  if (home) return withConfig({ home: join(home, ".hermes"), how: "Environment=HOME" });
  const user = ctx.unit.scalar("Service.User", (v) => v.trim() || undefined)?.value;
  if (user) {
    const dir = passwdHome(ctx.root, user);
    if (dir) return withConfig({ home: join(dir, ".hermes"), how: `the home of User=${user}` });
  }
  if (ctx.scope === "user")
    return withConfig({ home: join(ctx.userHome ?? homedir(), ".hermes"), how: "your home (a user unit)" });
  return withConfig({ home: "/root/.hermes", how: "root's home (a system unit without User=)" });
}

function passwdHome(root: string, user: string): string | undefined {
  try {
    for (const line of readFileSync(join(root, "etc", "passwd"), "utf8").split("\n")) {
      const fields = line.split(":");
      if (fields[0] === user && fields[5]) return fields[5];
    }
  } catch {}
  return undefined;
}

const DEFAULT_DRAIN_MS = v.parse(configSchema, {}).gateway.drain_timeout;

/** The drain timeout the gateway of this unit runs with, or the default when its config cannot be read. */
function drainFor(ctx: ServiceContext): { ms: number; source: string; unreadable?: string; fix?: string } {
  const env = parseEnvironment(ctx.unit.all("Service.Environment"));
  const guess = guessHome(ctx, env);
  // An explicit --home is a path on this machine; what the unit names lives under the root.
  const inRoot = (path: string) => (guess.how === "--home" ? path : join(ctx.root, path));
  const home = inRoot(guess.home);
  const configFile = guess.configFile ? join(ctx.root, guess.configFile) : undefined;
  const shown = guess.configFile ?? join(guess.home, "config.yaml");
  try {
    const load = loadConfig({
      home,
      configFile,
      env: Object.fromEntries([...env].map(([k, e]) => [k, e.value])),
    });
    if (load.fatal) {
      return {
        ms: DEFAULT_DRAIN_MS,
        source: "the default",
        unreadable: `${shown} (the home comes from ${guess.how}) does not parse`,
        fix: `fix it first: hermes lint config --home ${guess.home}`,
      };
    }
    const set = load.has(["gateway", "drain_timeout"]);
    return {
      ms: load.config.gateway.drain_timeout,
      source: set
        ? `gateway.drain_timeout in ${shown}`
        : `the default, as ${shown} does not set gateway.drain_timeout`,
    };
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return {
      ms: DEFAULT_DRAIN_MS,
      source: "the default",
      unreadable: `${error.message.replace(/\.$/, "")} (the home comes from ${guess.how})`,
      fix: "run hermes lint service as a user who can read it, or name the home with --home",
    };
  }
}

export const serviceStopTimeout: ServiceRule = {
  id: "service-stop-timeout",
  check(ctx) {
    const setting = stopTimeout(ctx.unit);
    const timeout = setting?.value ?? DEFAULT_TIMEOUT_STOP;
    if (timeout === Number.POSITIVE_INFINITY) return [];
    const drain = drainFor(ctx);
    const deadline = drain.ms + HARD_DEADLINE_GRACE_MS;
    const written = setting?.value !== undefined ? `${setting.at.key}=${setting.at.value}` : undefined;
    const plain = setting && /^\d+$/.test(setting.at.value.trim());
    const timeoutText = written
      ? `${written}${plain ? "" : ` (${formatSpan(timeout)})`}`
      : `TimeoutStopSec= is not set, so systemd's default of ${formatSpan(DEFAULT_TIMEOUT_STOP)} applies; it`;
    const deadlineText = `the gateway's shutdown deadline of ${formatSpan(deadline)} (a drain of ${formatSpan(drain.ms)}, ${drain.source}, plus the ${formatSpan(HARD_DEADLINE_GRACE_MS)} hard deadline)`;
    const location = setting?.value !== undefined ? at(setting.at) : atSection(ctx.unit, "Service");
    const suggested = Math.ceil((deadline + 5_000) / 1000);
    if (timeout <= deadline) {
      return [
        finding(
          location,
          `${timeoutText} is not longer than ${deadlineText}: systemd kills the gateway with SIGKILL in the middle of draining, cutting off in-flight replies${drain.unreadable ? `; ${drain.unreadable}, so the default was used` : ""}`,
          `set TimeoutStopSec=${suggested} in [Service] (anything above ${formatSpan(deadline)})`,
        ),
      ];
    }
    if (drain.unreadable) {
      return [
        finding(
          location,
          `${drain.unreadable}, so the stop timeout was checked against the default drain: ${written ?? `systemd's default stop timeout (${formatSpan(DEFAULT_TIMEOUT_STOP)})`} is longer than ${formatSpan(deadline)}, but a longer gateway.drain_timeout set there would not be`,
          drain.fix,
          { severity: "info" },
        ),
      ];
    }
    return [];
  },
};

export const serviceWatchdogType: ServiceRule = {
  id: "service-watchdog-type",
  check({ unit, systemd }) {
    const watchdog = watchdogSec(unit);
    if (!watchdog?.value || watchdog.value === Number.POSITIVE_INFINITY) return [];
    const type = serviceType(unit, systemd.version)?.value ?? "simple";
    if (type === "notify" || type === "notify-reload") return [];
    const access = notifyAccess(unit) ?? "none";
    const consequence =
      access === "none"
        ? `systemd gives it no notification socket, so the gateway's keep-alive (WATCHDOG=1) never arrives and systemd kills it every ${formatSpan(watchdog.value)}`
        : `systemd takes the gateway as started before it is ready and does not wait for READY=1`;
    return [
      finding(
        at(watchdog.at),
        `WatchdogSec=${watchdog.at.value} without Type=notify (Type=${type}): ${consequence}`,
        "set Type=notify and NotifyAccess=main in [Service]",
      ),
    ];
  },
};

export const serviceUnknownKey: ServiceRule = {
  id: "service-unknown-key",
  check({ unit, systemd }) {
    const findings: Finding[] = [];
    for (const p of unit.problems) {
      findings.push(finding({ file: p.file, path: null, line: p.line, column: p.column }, p.message));
    }
    const complaints = systemd.unknownKeys(unit);
    const version = systemd.version === null ? "systemd" : `systemd ${systemd.version}`;
    if (complaints) {
      for (const c of complaints) {
        if (c.key === undefined) {
          const header = unit.sections.find((s) => s.file === c.file && s.line === c.line);
          findings.push(
            finding(
              { file: c.file, path: c.section, line: header?.line ?? c.line, column: header?.column ?? 1 },
              `${version} does not know the section [${c.section}], so it ignores every key in it`,
              sectionHint(c.section),
            ),
          );
          continue;
        }
        const a = unit.assignments.find(
          (x) => x.file === c.file && x.key === c.key && x.line <= c.line && c.line <= x.endLine,
        );
        findings.push(unknownKeyFinding(a, c, version, systemd.version, keySince(c.section, c.key)));
      }
      return findings;
    }
    const checkedSections = new Set<string>();
    for (const s of unit.sections) {
      if (knowsSection(s.name) || checkedSections.has(`${s.file}:${s.line}`)) continue;
      checkedSections.add(`${s.file}:${s.line}`);
      findings.push(
        finding(
          { file: s.file, path: s.name, line: s.line, column: s.column },
          `systemd does not know the section [${s.name}] in a service, so it ignores every key in it`,
          sectionHint(s.name),
        ),
      );
    }
    for (const a of unit.assignments) {
      if (!knowsSection(a.section)) continue;
      const verdict = knowsKey(a.section, a.key, systemd.version);
      if (verdict.known) continue;
      findings.push(
        unknownKeyFinding(
          a,
          { file: a.file, line: a.line, section: a.section, key: a.key },
          version,
          systemd.version,
          verdict.since,
        ),
      );
    }
    return findings;
  },
};

function unknownKeyFinding(
  a: Assignment | undefined,
  c: { file: string; line: number; section: string; key?: string },
  version: string,
  installed: number | null,
  since: number | undefined,
): Finding {
  const key = c.key!;
  const location = a ? at(a) : { file: c.file, path: `${c.section}.${key}`, line: c.line, column: 1 };
  if (since !== undefined) {
    return finding(
      location,
      `${version} does not know ${key}= (it came with systemd ${since}), so it ignores it`,
      installed !== null && installed < since
        ? `remove ${key}= from [${c.section}], or upgrade systemd to ${since} or newer`
        : `remove ${key}= from [${c.section}]`,
    );
  }
  const close = suggest(key, keysOf(c.section));
  const elsewhere = (["Unit", "Service", "Install"] as const).find(
    (s) => s !== c.section && knowsKey(s, key, installed).known,
  );
  return finding(
    location,
    `${version} does not know ${key}= in [${c.section}], so it ignores it`,
    elsewhere
      ? `${key}= belongs in [${elsewhere}]`
      : close
        ? `did you mean ${close}=?`
        : `remove it, or name it X-${key}= if it is a note of your own`,
  );
}

function sectionHint(section: string): string {
  const close = suggest(section, ["Unit", "Service", "Install"]);
  return close ? `did you mean [${close}]?` : "a service takes [Unit], [Service] and [Install]";
}

export const serviceExecPath: ServiceRule = {
  id: "service-exec-path",
  check({ unit, root }) {
    const exec = execStart(unit);
    const hint =
      "write the absolute path of the installed program (for hermes: the output of command -v hermes)";
    if (!exec.at) {
      return [
        finding(
          atSection(unit, "Service"),
          "[Service] has no ExecStart=: systemd refuses to start the unit",
          "add ExecStart=/usr/local/bin/hermes gateway run (the absolute path of your binary)",
        ),
      ];
    }
    if (exec.error !== undefined || !exec.command) {
      return [finding(at(exec.at), `systemd cannot split ExecStart= into a command: ${exec.error}`, hint)];
    }
    const path = exec.command.path;
    const offset = exec.at.value.indexOf(path);
    const location = at(exec.at, offset >= 0 ? offset : undefined);
    if (path.startsWith("%")) return [];
    if (!path.startsWith("/")) {
      return [
        finding(
          location,
          path.includes("/")
            ? `ExecStart=${path} is a relative path: systemd refuses to start the unit ("Neither a valid executable name nor an absolute path")`
            : `ExecStart=${path} is not an absolute path: systemd looks it up only in its own fixed PATH (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin), not in yours`,
          hint,
        ),
      ];
    }
    const problem = executableProblem(join(root, path));
    if (!problem) return [];
    return [
      finding(location, `ExecStart= names ${path}, which ${problem}: systemd cannot start the unit`, hint),
    ];
  },
};

function executableProblem(path: string): string | undefined {
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) return "is a directory";
    if (!stat.isFile()) return "is not a regular file";
    if ((stat.mode & 0o111) === 0) return "is not executable";
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return "does not exist on this machine";
    return `cannot be checked (${code ?? "error"})`;
  }
}

function list(items: string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/** In the order of SPEC §8. */
export const SERVICE_RULES: readonly ServiceRule[] = [
  serviceReplaceFlag,
  serviceExit75,
  serviceRestartPolicy,
  serviceExit78,
  serviceRestartSec,
  serviceStartLimit,
  serviceStopTimeout,
  serviceWatchdogType,
  serviceUnknownKey,
  serviceExecPath,
];
