/**
 * `hermes gateway run`: read and lint the configuration, take the single-instance lock, start the gateway,
 * wire the signals, and resolve with the exit code of the contract: 0 planned stop, 69 another instance holds
 * the lock, 75 restart requested (drained), 78 the configuration cannot be used; a start-up that fails otherwise
 * is a crash (73 or 70, below), which a service manager retries.
 */
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError, type LoadResult, loadConfig, unusableConfigMessage } from "../config/load.ts";
import { ensureDir } from "../fs/atomic.ts";
import type { Diagnostic } from "../lint/diagnostic.ts";
import { Redactor } from "../lint/redact.ts";
import { lintLoaded } from "../lint/run.ts";
import { createLogger, type Logger } from "../log/logger.ts";
import type { Runtime } from "../runtime/types.ts";
import { createNotifier, systemdHooks } from "../systemd/notify.ts";
import { serviceUnitOf } from "../systemd/unit.ts";
import { Gateway, type LifecycleHooks, noHooks } from "./gateway.ts";
import { homeFault } from "./home-fault.ts";
import { acquireLock } from "./lock.ts";
import { StateFiles } from "./state-file.ts";

export const EXIT = {
  ok: 0,
  locked: 69,
  /**
   * EX_SOFTWARE: start-up failed for a reason that is neither the configuration nor HERMES_HOME. A crash under
   * SPEC §5: restarted with backoff.
   */
  software: 70,
  /**
   * EX_CANTCREAT: HERMES_HOME, or something hermes keeps in it, cannot be created, opened or written (a state
   * path that is a file, a journal that is a directory, a read-only or full file system, no permission). Not 78:
   * the configuration is fine, and the home often comes right without anyone touching hermes (a mount that
   * arrives late at boot, a disk that is cleaned up, a remount read-write), so systemd must keep retrying.
   */
  home: 73,
  restart: 75,
  config: 78,
} as const;

export interface RunGatewayOptions {
  home: string;
  /** `--config FILE`: replaces only config.yaml. */
  configFile?: string;
  /** `--strict`: any lint error is exit 78 (as `gateway.strict: true`). */
  strict: boolean;
  /** `--supervised`. */
  supervised: boolean;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  runtime: Runtime;
  hooks?: LifecycleHooks;
  /** The replacement of a restarting gateway waits this long for the lock (`HERMES_LOCK_WAIT_MS`). */
  lockWaitMs?: number;
}

/** "Supervised": systemd (NOTIFY_SOCKET or INVOCATION_ID), PID 1 in a container, --supervised or HERMES_SUPERVISED=1. */
export function isSupervised(flag: boolean, env = process.env): boolean {
  return (
    flag || env.HERMES_SUPERVISED === "1" || !!env.NOTIFY_SOCKET || !!env.INVOCATION_ID || process.pid === 1
  );
}

/** Output already goes to the journal (a unit's stdout/stderr): no log file of our own beside it. */
export function logsToJournal(env = process.env): boolean {
  return !!env.INVOCATION_ID || !!env.JOURNAL_STREAM;
}

/** Started by systemd as (part of) a unit: `hermes gateway stop` must then go through systemctl. */
export function underUnit(env = process.env): boolean {
  return !!env.INVOCATION_ID || !!env.NOTIFY_SOCKET;
}

/**
 * A control socket in the 0700 run/ directory: the gateway's `run/gateway.sock`, or `run/cron.sock` of the `hermes
 * cron serve` that holds the scheduler lock. When that path exceeds the unix socket limit, a short path derived
 * from HERMES_HOME is used instead, so that every reader computes the same one.
 */
export function controlSocketPath(home: string, owner: "gateway" | "cron" = "gateway"): string {
  const preferred = join(home, "run", `${owner}.sock`);
  if (Buffer.byteLength(preferred) <= 100) return preferred;
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  const dir = join(tmpdir(), `hermes-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const hash = createHash("sha256").update(home).digest("hex").slice(0, 16);
  return join(dir, owner === "gateway" ? `${hash}.sock` : `${hash}-${owner}.sock`);
}

function loadAndLint(options: RunGatewayOptions): { load: LoadResult; diagnostics: Diagnostic[] } {
  const load = loadConfig({ home: options.home, configFile: options.configFile, env: process.env });
  if (load.fatal) throw new InputError(unusableConfigMessage(load), load.configFile.path);
  const strict = options.strict || load.config.gateway.strict;
  const diagnostics = lintLoaded(load, { strict: false });
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (strict && errors.length > 0) {
    throw new InputError(
      `${errors.length} lint error${errors.length === 1 ? "" : "s"} and strict mode is on (first: ${errors[0]!.rule}: ${errors[0]!.message}); run hermes lint config`,
      load.configFile.path,
    );
  }
  return { load, diagnostics };
}

export async function runGateway(options: RunGatewayOptions): Promise<number> {
  process.umask(0o077);
  const underSystemd = logsToJournal();
  try {
    ensureDir(options.home);
  } catch (error) {
    return homeUnusable(error);
  }
  let first: { load: LoadResult; diagnostics: Diagnostic[] };
  try {
    first = loadAndLint(options);
  } catch (error) {
    process.stderr.write(`hermes: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.config;
  }
  const { load, diagnostics } = first;
  const supervised = isSupervised(options.supervised);
  try {
    for (const dir of ["state", "run", ...(underSystemd ? [] : ["logs"])]) ensureDir(join(options.home, dir));
  } catch (error) {
    return homeUnusable(error);
  }
  const redactor = new Redactor(load.secrets);
  const log = createLogger({
    level: options.logLevel,
    redactor,
    file: underSystemd ? undefined : join(options.home, "logs", "gateway.log"),
  });
  reportDiagnostics(log, diagnostics);

  // Opened before the lock, so that a unit that cannot start says why in `systemctl status` too.
  const notifier = createNotifier(process.env, { runtime: options.runtime, log });
  let lock: Awaited<ReturnType<typeof acquireLock>>;
  try {
    lock = await acquireLock(join(options.home, "run"), options.runtime, { waitMs: options.lockWaitMs ?? 0 });
  } catch (error) {
    return homeUnusable(error, log);
  }
  if (!lock.ok) {
    const holder = lock.holder === null ? "another process" : `pid ${lock.holder}`;
    const message = `another hermes gateway (${holder}) is running for ${options.home}; it holds ${lock.path}`;
    log.error("gateway.locked", message, { holder_pid: lock.holder });
    notifier.status(message);
    if (process.stdout.isTTY !== true) process.stderr.write(`hermes: ${message}\n`);
    return EXIT.locked;
  }

  const controlSocket = controlSocketPath(options.home);
  const systemd = underUnit(process.env) ? serviceUnitOf("self") : undefined;
  const hooks =
    options.hooks ??
    (notifier.enabled ? systemdHooks(notifier, { env: process.env, pid: process.pid, log }) : noHooks);
  const gateway = new Gateway({
    load,
    diagnostics,
    runtime: options.runtime,
    log,
    lock,
    state: new StateFiles(join(options.home, "state")),
    home: options.home,
    controlSocket,
    supervised,
    selfCommand: options.runtime.selfCommand(),
    hooks,
    systemd,
    reload: () => {
      const next = loadAndLint({ ...options, strict: false });
      reportDiagnostics(log, next.diagnostics);
      return next;
    },
  });

  const handlers = signalHandlers(gateway, log, options.runtime.name);
  try {
    await gateway.start();
  } catch (error) {
    // Nothing was taken in that is not on disk already (journals replay at the next start): no drain, just
    // close what start-up opened, release the lock and exit, so that systemd restarts it with backoff.
    const fault = homeFault(error);
    const code = fault ? EXIT.home : EXIT.software;
    const message = fault
      ? `the gateway cannot start: ${fault}`
      : `the gateway could not start: ${error instanceof Error ? error.message : String(error)}`;
    startFailed(log, message, code, error);
    void gateway.stop(code, "start-up failed", { drain: false });
  }
  const code = await gateway.done;
  for (const [signal, handler] of handlers) process.off(signal, handler);
  return code;
}

/** A start-up failure: a JSON log record, and the same sentence on stderr (what `systemctl status` shows). */
function startFailed(log: Logger | undefined, message: string, code: number, error?: unknown): void {
  log?.error("gateway.start", message, { exit_code: code });
  if (error instanceof Error && error.stack) log?.debug("gateway.start", error.stack);
  if (!log || process.stdout.isTTY !== true) process.stderr.write(`hermes: ${message}\n`);
}

/** HERMES_HOME (or something in it) cannot be created or opened before the gateway exists: exit 73. */
function homeUnusable(error: unknown, log?: Logger): number {
  const fault = homeFault(error);
  if (!fault) throw error;
  startFailed(log, `the gateway cannot start: ${fault}`, EXIT.home);
  return EXIT.home;
}

function reportDiagnostics(log: Logger, diagnostics: Diagnostic[]): void {
  for (const d of diagnostics) {
    if (d.severity === "info") continue;
    const where = d.file ? `${d.file}${d.line ? `:${d.line}` : ""}` : "environment";
    log[d.severity === "error" ? "error" : "warn"]("config.lint", `${where}: ${d.rule}: ${d.message}`, {
      rule: d.rule,
      platform: d.platform,
    });
  }
}

/** SIGTERM/SIGINT: drained stop (0); SIGUSR1: restart (75); SIGHUP: reload. Node keeps SIGUSR1 for its inspector. */
function signalHandlers(
  gateway: Gateway,
  log: Logger,
  runtime: Runtime["name"],
): [NodeJS.Signals, () => void][] {
  const handlers: [NodeJS.Signals, () => void][] = [
    ["SIGTERM", () => void gateway.stop(EXIT.ok, "SIGTERM")],
    ["SIGINT", () => void gateway.stop(EXIT.ok, "SIGINT")],
    [
      "SIGHUP",
      () => {
        log.info("config.reload", "SIGHUP: reloading config.yaml and .env");
        gateway.reload();
      },
    ],
  ];
  if (runtime !== "node")
    handlers.push(["SIGUSR1", () => void gateway.stop(EXIT.restart, "SIGUSR1: restart requested")]);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return handlers;
}
