/**
 * Driving the real systemd of this machine from tests: `sandbox.sh` boots /lib/systemd/systemd as PID 1 of
 * private namespaces; `Sandbox` starts one, runs commands inside, reads unit properties and the journal, and
 * tears it down. Every wait here is bounded. No vitest import: `bench/systemd.mjs` uses this module under Bun.
 *
 * Networking: by default a sandbox has its own network namespace (only `lo`). `shareNet: true` keeps the
 * host's, so a test can fetch 127.0.0.1:PORT of a unit directly and a unit can reach a receiver the test runs;
 * the gateway scenarios use that, with ports picked free on the host. Unix sockets in a bound directory (the
 * gateway's control socket) are reachable from the host in either case.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { sleep, waitFor } from "../helpers/wait.ts";

export { sleep };

export const SANDBOX_SH = join(import.meta.dirname, "sandbox.sh");

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Bind {
  source: string;
  target: string;
  readOnly?: boolean;
}

export interface SandboxOptions {
  /** Part of the sandbox's name (the test process's pid is appended, so parallel runs never collide). */
  name: string;
  /** Hard bound on the sandbox's life: after it everything inside is SIGKILLed and cleaned up. */
  maxLifeS: number;
  binds?: Bind[];
  /** Empty tmpfs mounts over existing directories, where bind targets may be created (/opt, /srv). */
  tmpfs?: string[];
  shareNet?: boolean;
  /** Keep the state directory (journal.txt, console.log) after stop, for debugging. */
  keep?: boolean;
}

export interface JournalEntry {
  message: string;
  /** CLOCK_MONOTONIC in µs, as systemd's *TimestampMonotonic properties. */
  monotonicUs: number;
  pid: number | undefined;
  identifier: string | undefined;
}

/** Why this machine cannot run a sandbox (not root, no systemd, no cgroup2, no unshare), or undefined. */
export function sandboxUnavailable(): string | undefined {
  if (process.platform !== "linux") return `systemd sandboxes need Linux, this is ${process.platform}`;
  const check = spawnSync("bash", [SANDBOX_SH, "check"], { encoding: "utf8", timeout: 10_000 });
  if (check.error) return `cannot run ${SANDBOX_SH}: ${check.error.message}`;
  return check.status === 0 ? undefined : check.stdout.trim() || check.stderr.trim();
}

/** Polls `check` until it returns a value (not undefined/false); throws after `timeoutMs` saying what it waited for. */
export const until = <T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> => waitFor(what, check, timeoutMs, everyMs);

/** Runs a command with a bound on its life: past `timeoutMs` it is SIGKILLed and the promise rejects. */
function run(cmd: string, args: string[], options: { timeoutMs: number; input?: string }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${[cmd, ...args].join(" ")} did not finish within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");
  });
}

/** A process's start time (field 22 of /proc/PID/stat): tells a live process from a reused pid. */
export function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); a zombie has finished running.
    return fields[0] === "Z" ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/** The pids (in the host's namespace) in a cgroup directory and every directory below it. */
export function cgroupPids(dir: string): number[] {
  const pids: number[] = [];
  const walk = (d: string) => {
    try {
      for (const line of readFileSync(join(d, "cgroup.procs"), "utf8").split("\n"))
        if (line) pids.push(Number(line));
      for (const entry of readdirSync(d, { withFileTypes: true }))
        if (entry.isDirectory()) walk(join(d, entry.name));
    } catch {
      // removed meanwhile
    }
  };
  walk(dir);
  return pids;
}

const live = new Set<Sandbox>();

export class Sandbox {
  private stopped = false;

  private constructor(
    readonly name: string,
    /** Host path of the sandbox's state directory (its unit dir is `${state}/units`). */
    readonly state: string,
    /** Host path of the sandbox's cgroup2 directory. */
    readonly cgroup: string,
    /** Host pid of the namespace's PID 1 (systemd). */
    readonly pid1: number,
    /** Host pids of the launcher, timeout and unshare processes that hold the sandbox up. */
    readonly launchers: number[],
  ) {}

  static async start(options: SandboxOptions): Promise<Sandbox> {
    const name = `${options.name}-${process.pid}`;
    const args = ["start", "--name", name, "--max-life", String(Math.ceil(options.maxLifeS))];
    for (const b of options.binds ?? [])
      args.push(b.readOnly ? "--bind-ro" : "--bind", `${b.source}:${b.target}`);
    for (const t of options.tmpfs ?? []) args.push("--tmpfs", t);
    if (options.shareNet) args.push("--share-net");
    if (options.keep) args.push("--keep");
    const started = await run("bash", [SANDBOX_SH, ...args], { timeoutMs: 45_000 });
    if (started.code !== 0) throw new Error(`sandbox ${name} did not boot: ${started.stderr.trim()}`);
    const info = await run("bash", [SANDBOX_SH, "info", name], { timeoutMs: 10_000 });
    const values: Record<string, string> = {};
    for (const line of info.stdout.split("\n")) {
      const eq = line.indexOf("=");
      if (eq > 0) values[line.slice(0, eq)] = line.slice(eq + 1);
    }
    const sandbox = new Sandbox(
      name,
      values.STATE!,
      values.CGROUP!,
      Number(values.PID1),
      [values.LAUNCHER, values.TIMEOUT, values.UNSHARE].filter((p) => p).map(Number),
    );
    live.add(sandbox);
    return sandbox;
  }

  /** Runs `cmd` inside every namespace of the sandbox (not inside a unit: for systemctl, journalctl, tools). */
  exec(cmd: string[], options: { timeoutMs?: number; input?: string } = {}): Promise<Run> {
    return run("bash", [SANDBOX_SH, "exec", this.name, ...cmd], {
      timeoutMs: options.timeoutMs ?? 30_000,
      input: options.input,
    });
  }

  systemctl(...args: string[]): Promise<Run> {
    return this.exec(["systemctl", "--no-pager", ...args]);
  }

  /** `systemctl show UNIT -p A,B,…` as a record. */
  async show(unit: string, props: string[]): Promise<Record<string, string>> {
    const result = await this.systemctl("show", unit, "-p", props.join(","));
    if (result.code !== 0) throw new Error(`systemctl show ${unit} failed: ${result.stderr.trim()}`);
    const values: Record<string, string> = {};
    for (const line of result.stdout.split("\n")) {
      const eq = line.indexOf("=");
      if (eq > 0) values[line.slice(0, eq)] = line.slice(eq + 1);
    }
    return values;
  }

  /** The unit's journal (its processes' output and systemd's lines about it), message text only. */
  async journal(unit: string): Promise<string[]> {
    const result = await this.exec(["journalctl", "--no-pager", "-q", "-o", "cat", "-u", unit]);
    return result.stdout.split("\n").filter((line) => line !== "");
  }

  /** The unit's journal with monotonic timestamps, for measuring. */
  async journalEntries(unit: string): Promise<JournalEntry[]> {
    const result = await this.exec([
      "journalctl",
      "--no-pager",
      "-q",
      "-o",
      "json",
      "--output-fields=MESSAGE,_PID,SYSLOG_IDENTIFIER",
      "-u",
      unit,
    ]);
    return result.stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => {
        const e = JSON.parse(line) as Record<string, unknown>;
        const message = Array.isArray(e.MESSAGE)
          ? Buffer.from(e.MESSAGE as number[]).toString("utf8")
          : String(e.MESSAGE ?? "");
        return {
          message,
          monotonicUs: Number(e.__MONOTONIC_TIMESTAMP),
          pid: e._PID === undefined ? undefined : Number(e._PID),
          identifier: e.SYSLOG_IDENTIFIER === undefined ? undefined : String(e.SYSLOG_IDENTIFIER),
        };
      });
  }

  /** Copies a unit file (and its `NAME.d` drop-in directory) into the sandbox's unit dir; daemon-reload. */
  async install(unitFile: string, dropInDir?: string): Promise<void> {
    const files = dropInDir ? [unitFile, dropInDir] : [unitFile];
    const result = await run("bash", [SANDBOX_SH, "install", this.name, ...files], { timeoutMs: 30_000 });
    if (result.code !== 0) throw new Error(`installing ${files.join(", ")} failed: ${result.stderr.trim()}`);
  }

  /** Writes a unit from text, with drop-ins (`file.conf` → text), into the sandbox's unit dir; daemon-reload. */
  async writeUnit(name: string, text: string, dropIns: Record<string, string> = {}): Promise<void> {
    const dir = join(this.state, "units");
    writeFileSync(join(dir, name), text);
    if (Object.keys(dropIns).length > 0) {
      mkdirSync(join(dir, `${name}.d`), { recursive: true });
      for (const [file, conf] of Object.entries(dropIns)) writeFileSync(join(dir, `${name}.d`, file), conf);
    }
    const reload = await this.systemctl("daemon-reload");
    if (reload.code !== 0) throw new Error(`daemon-reload failed: ${reload.stderr.trim()}`);
  }

  /** Host pids of every process in a unit's cgroup (main process, children, escaped grandchildren). */
  async unitPids(unit: string): Promise<number[]> {
    const { ControlGroup } = await this.show(unit, ["ControlGroup"]);
    return ControlGroup ? cgroupPids(join(this.cgroup, ControlGroup)) : [];
  }

  /** The host pid of a pid of the sandbox's namespace (the last NSpid entry names it there). */
  hostPid(unit: string, nsPid: number): Promise<number | undefined> {
    return this.unitPids(unit).then((pids) =>
      pids.find((pid) => {
        try {
          const line = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "";
          return Number(line.trim().split(/\s+/).pop()) === nsPid;
        } catch {
          return false;
        }
      }),
    );
  }

  /**
   * Every host process of the sandbox with its start time: the launchers, and every process of its pid
   * namespace (systemd, units, commands run with exec).
   */
  processes(): Map<number, string> {
    const found = new Map<number, string>();
    let ns: string;
    try {
      ns = readlinkSync(`/proc/${this.pid1}/ns/pid`);
    } catch {
      return found;
    }
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      try {
        if (readlinkSync(`/proc/${pid}/ns/pid`) !== ns && !this.launchers.includes(pid)) continue;
      } catch {
        continue;
      }
      const started = startTimeOf(pid);
      if (started !== undefined) found.set(pid, started);
    }
    return found;
  }

  /** Powers the sandbox off, then kills whatever is left through its cgroup and removes it. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    live.delete(this);
    // Past its max life the sandbox has cleaned itself up.
    if (!existsSync(this.state)) return;
    const result = await run("bash", [SANDBOX_SH, "stop", this.name], { timeoutMs: 45_000 });
    if (result.code !== 0) throw new Error(`stopping sandbox ${this.name} failed: ${result.stderr.trim()}`);
  }
}

/** Stops every sandbox this process started and has not stopped (for afterEach/afterAll). */
export async function stopAllSandboxes(): Promise<void> {
  await Promise.all([...live].map((s) => s.stop()));
}

// ----- the unit under test --------------------------------------------------------------------------------------

/** Where the gateway scenarios put things inside a sandbox. */
export const UNIT_NAME = "hermes-gateway.service";
export const SANDBOX_BINARY = "/opt/hermes/hermes";
export const SANDBOX_HOME = "/srv/hermes-home";

/**
 * The unit `hermes install-service --system --dry-run --home HOME --run-as-user root` generates, rendered inside
 * the sandbox by `hermes` (the compiled binary there), so that paths are the sandbox's. `execStart` is passed as
 * `--binary`: the program the unit runs (default: that same binary). Never a hand-written unit: a broken
 * install-service must fail the scenarios. `name` is install-service's --name (hermes-gateway-NAME.service).
 */
export async function generatedUnit(
  sandbox: Sandbox,
  options: {
    hermes?: string;
    execStart?: string;
    home?: string;
    name?: string;
    component?: "gateway" | "cron";
  } = {},
): Promise<string> {
  const hermes = options.hermes ?? SANDBOX_BINARY;
  const args = [hermes, "install-service", "--system", "--dry-run", "--home", options.home ?? SANDBOX_HOME];
  args.push("--run-as-user", "root");
  if (options.execStart) args.push("--binary", options.execStart);
  if (options.name) args.push("--name", options.name);
  if (options.component) args.push("--component", options.component);
  const result = await sandbox.exec(args);
  if (result.code !== 0)
    throw new Error(`hermes install-service --dry-run failed (exit ${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}

/** Short timings for tests, as the findings recommend: the generated unit plus this drop-in, never a copy. */
export function timingDropIn(options: { timeoutStopS: number }): string {
  return `[Service]
RestartSec=2
WatchdogSec=3
TimeoutStartSec=10
TimeoutStopSec=${options.timeoutStopS}
`;
}

export interface RestartTiming {
  /** Signal → the old process exited (its drain and shutdown). */
  exitMs: number;
  /** Old exit → new process started (RestartSec plus systemd's timer slack). */
  restartDelayMs: number;
  /** New process started → active (READY=1 under Type=notify). */
  readyMs: number;
  /** Signal → active again, minus the drain (exitMs) and RestartSec: what a restart costs beyond policy. */
  overheadMs: number;
}

/** What `systemctl show` tells of a unit's state and its last run. */
export const UNIT_STATE_PROPS = [
  "ActiveState",
  "SubState",
  "MainPID",
  "NRestarts",
  "Result",
  "ExecMainStatus",
  "ExecMainCode",
];
const EXIT_PROPS = [...UNIT_STATE_PROPS, "ExecMainExitTimestampMonotonic"];

/**
 * Sends SIGUSR1 to a unit's main process (`systemctl kill`) and follows the restart it leads to: the old run's
 * exit status is read while the unit waits RestartSec, then the new run's timestamps once `waitUp` (given the old
 * main pid) says it is up. Every time comes from systemd's clock (the journal's line for the signal, the unit's
 * *TimestampMonotonic properties).
 */
export async function restartBySignal<Up>(
  sb: Sandbox,
  unit: string,
  restartSec: number,
  waitUp: (notPid: string) => Promise<Up>,
): Promise<{ exited: Record<string, string>; up: Up; timing: RestartTiming }> {
  const { MainPID } = await sb.show(unit, ["MainPID"]);
  const sentLines = async () =>
    (await sb.journalEntries(unit)).filter((e) => /Sent signal SIGUSR1 to main process/.test(e.message));
  const earlier = (await sentLines()).length;
  const kill = await sb.systemctl("kill", "--kill-who=main", "-s", "SIGUSR1", unit);
  if (kill.code !== 0) throw new Error(`systemctl kill failed: ${kill.stderr.trim()}`);
  const exited = await waitAutoRestart(sb, unit);
  const up = await waitUp(MainPID!);
  const after = await sb.show(unit, ["ExecMainStartTimestampMonotonic", "ActiveEnterTimestampMonotonic"]);
  const sent = await until("the journal line of the signal", async () => (await sentLines())[earlier], 5_000);
  const exitUs = Number(exited.ExecMainExitTimestampMonotonic);
  const startUs = Number(after.ExecMainStartTimestampMonotonic);
  const activeUs = Number(after.ActiveEnterTimestampMonotonic);
  return {
    exited,
    up,
    timing: {
      exitMs: (exitUs - sent.monotonicUs) / 1000,
      restartDelayMs: (startUs - exitUs) / 1000,
      readyMs: (activeUs - startUs) / 1000,
      overheadMs: (activeUs - exitUs) / 1000 - restartSec * 1000,
    },
  };
}

/** Waits for a unit to sit in auto-restart (RestartSec), and returns the finished run's status. */
export function waitAutoRestart(
  sb: Sandbox,
  unit: string,
  timeoutMs = 20_000,
): Promise<Record<string, string>> {
  return until(
    `${unit} to wait RestartSec before restarting`,
    async () => {
      const s = await sb.show(unit, EXIT_PROPS);
      return s.SubState === "auto-restart" ? s : undefined;
    },
    timeoutMs,
    50,
  );
}

/** Waits until a unit is active and running with a main process other than `notPid`. */
export function waitActive(sb: Sandbox, unit: string, notPid?: string, timeoutMs = 20_000) {
  return until(
    `${unit} to be active`,
    async () => {
      const s = await sb.show(unit, ["ActiveState", "SubState", "MainPID"]);
      const up = s.ActiveState === "active" && s.SubState === "running" && s.MainPID !== "0";
      return up && s.MainPID !== notPid ? s : undefined;
    },
    timeoutMs,
    50,
  );
}

/** Process start → active, as systemd timed it (READY=1 under Type=notify). */
export async function startToReadyMs(sb: Sandbox, unit: string): Promise<number> {
  const s = await sb.show(unit, ["ExecMainStartTimestampMonotonic", "ActiveEnterTimestampMonotonic"]);
  return (Number(s.ActiveEnterTimestampMonotonic) - Number(s.ExecMainStartTimestampMonotonic)) / 1000;
}

/** Makes a host directory usable as HERMES_HOME (0700, files 0600). */
export function writeHome(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), 0o600);
  }
}
