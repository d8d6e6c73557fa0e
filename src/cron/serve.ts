/**
 * `hermes cron serve`: the scheduler alone, as its own process (and unit). It competes for the scheduler lock
 * like the gateway does: the holder fires jobs, a standby retries every second and takes over when the holder
 * dies. Results go to the gateway through a durable spool (spool.ts). The holder answers on `run/cron.sock` (the
 * same kind of app as the gateway's control socket); sd_notify as the gateway: READY=1 once the candidate runs,
 * STATUS=, WATCHDOG=1 while its tick is fresh, STOPPING=1.
 *
 * Exit codes as the gateway's: 0 planned stop, 75 restart asked for (SIGUSR1, or the control socket), 78 the
 * configuration cannot be used, 73 HERMES_HOME cannot be used, 70 another start-up failure. A second `cron serve`
 * does not exit: it stands by.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createAgent } from "../agent/index.ts";
import { type LoadResult, loadConfig, unusableConfigMessage } from "../config/load.ts";
import { ensureDir } from "../fs/atomic.ts";
import type { LifecycleHooks } from "../gateway/gateway.ts";
import { noHooks } from "../gateway/gateway.ts";
import { homeFault } from "../gateway/home-fault.ts";
import { Metrics } from "../gateway/metrics.ts";
import { controlSocketPath, EXIT, logsToJournal } from "../gateway/run.ts";
import { within } from "../gateway/within.ts";
import { createApp, type GatewayApi, type SendResult } from "../http/app.ts";
import { Redactor } from "../lint/redact.ts";
import { createLogger, type Logger } from "../log/logger.ts";
import type { Runtime, ServerHandle } from "../runtime/types.ts";
import { createNotifier, systemdHooks } from "../systemd/notify.ts";
import { VERSION } from "../version.ts";
import { jobEnv } from "./actions.ts";
import { Scheduler } from "./scheduler.ts";
import { SpoolSink } from "./spool.ts";

export interface CronServeOptions {
  home: string;
  configFile?: string;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  runtime: Runtime;
  hooks?: LifecycleHooks;
}

/** Time after the drain before the process ends regardless (as the gateway's). */
const HARD_DEADLINE_GRACE_MS = 10_000;

export async function runCronServe(options: CronServeOptions): Promise<number> {
  process.umask(0o077);
  const underSystemd = logsToJournal();
  try {
    ensureDir(options.home);
  } catch (error) {
    return homeUnusable(error);
  }
  const load = loadConfig({ home: options.home, configFile: options.configFile, env: process.env });
  if (load.fatal) {
    process.stderr.write(`hermes: ${unusableConfigMessage(load)}\n`);
    return EXIT.config;
  }
  try {
    for (const dir of ["state", "run", "cron", ...(underSystemd ? [] : ["logs"])])
      ensureDir(join(options.home, dir));
  } catch (error) {
    return homeUnusable(error);
  }
  const log = createLogger({
    level: options.logLevel,
    redactor: new Redactor(load.secrets),
    file: underSystemd ? undefined : join(options.home, "logs", "cron.log"),
  });
  const notifier = createNotifier(process.env, { runtime: options.runtime, log });
  const hooks =
    options.hooks ??
    (notifier.enabled ? systemdHooks(notifier, { env: process.env, pid: process.pid, log }) : noHooks);
  const serve = new CronServe(options, load, log, hooks);
  const handlers: [NodeJS.Signals, () => void][] = [
    ["SIGTERM", () => void serve.stop(EXIT.ok, "SIGTERM")],
    ["SIGINT", () => void serve.stop(EXIT.ok, "SIGINT")],
    ["SIGHUP", () => serve.reload()],
  ];
  if (options.runtime.name !== "node")
    handlers.push(["SIGUSR1", () => void serve.stop(EXIT.restart, "SIGUSR1: restart requested")]);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  try {
    await serve.start();
  } catch (error) {
    const fault = homeFault(error);
    const message = fault
      ? `hermes cron serve cannot start: ${fault}`
      : `hermes cron serve could not start: ${error instanceof Error ? error.message : String(error)}`;
    log.error("cron.start", message);
    if (process.stdout.isTTY !== true) process.stderr.write(`hermes: ${message}\n`);
    void serve.stop(fault ? EXIT.home : EXIT.software, "start-up failed", false);
  }
  const code = await serve.done;
  for (const [signal, handler] of handlers) process.off(signal, handler);
  return code;
}

function homeUnusable(error: unknown): number {
  const fault = homeFault(error);
  if (!fault) throw error;
  process.stderr.write(`hermes: hermes cron serve cannot start: ${fault}\n`);
  return EXIT.home;
}

class CronServe implements GatewayApi {
  readonly meters = new Metrics();
  readonly startedAt = new Date();
  readonly scheduler: Scheduler;
  readonly sink: SpoolSink;
  readonly done: Promise<number>;
  #finished!: (code: number) => void;
  #load: LoadResult;
  #agent: ReturnType<typeof createAgent> | undefined;
  #server: ServerHandle | undefined;
  #binding = false;
  #alive: ReturnType<typeof setInterval> | undefined;
  #stopping: { code: number } | undefined;
  #ready = false;

  constructor(
    readonly options: CronServeOptions,
    load: LoadResult,
    readonly log: Logger,
    readonly hooks: LifecycleHooks,
  ) {
    this.#load = load;
    this.done = new Promise((resolve) => {
      this.#finished = resolve;
    });
    this.sink = new SpoolSink({
      home: options.home,
      log,
      ttlMs: () => this.#load.config.gateway.outbox_ttl,
    });
    this.scheduler = new Scheduler({
      home: options.home,
      kind: "cron-serve",
      runtime: options.runtime,
      log,
      metrics: this.meters,
      sink: this.sink,
      configJobs: load.config.cron.jobs,
      agent: () => {
        this.#agent ??= createAgent(this.#load.config.agent, { home: options.home, env: this.#env() });
        return this.#agent;
      },
      env: () => jobEnv(this.#env()),
      changed: () => this.#changed(),
    });
  }

  #env(): Record<string, string | undefined> {
    const env: Record<string, string | undefined> = {};
    for (const [name, value] of this.#load.env.entries()) env[name] = value.value;
    return env;
  }

  get socketPath(): string {
    return controlSocketPath(this.options.home, "cron");
  }

  async start(): Promise<void> {
    await this.scheduler.start();
    // The service manager's watchdog is fed while the scheduler ticks (holder or standby).
    this.#alive = setInterval(() => {
      const tick = this.scheduler.lastTickAt;
      if (!this.#stopping && tick !== null && Date.now() - tick <= 3 * this.scheduler.tickMs)
        this.hooks.alive();
    }, 500);
    this.#ready = true;
    this.hooks.status(this.#statusLine());
    this.hooks.ready();
    this.log.info(
      "cron.ready",
      `hermes ${VERSION} cron serve ready (pid ${process.pid}): ${this.#statusLine()}`,
      {
        role: this.scheduler.role,
      },
    );
  }

  /** The role or the jobs changed: the holder binds its control socket; systemd hears the new STATUS=. */
  #changed(): void {
    if (this.scheduler.role === "holder" && !this.#server && !this.#binding && !this.#stopping)
      void this.#bind();
    if (this.#ready) this.hooks.status(this.#statusLine());
  }

  async #bind(): Promise<void> {
    this.#binding = true;
    try {
      // We hold the scheduler lock: a socket file left here is a dead holder's.
      rmSync(this.socketPath, { force: true });
      this.#server = await this.options.runtime.serveUnix(
        createApp({ api: this, control: true }).fetch,
        this.socketPath,
      );
      this.log.info("cron.control", `answering on ${this.socketPath}`);
    } catch (error) {
      this.log.error(
        "cron.control",
        `cannot listen on ${this.socketPath}: ${error instanceof Error ? error.message : String(error)}; hermes cron run and status cannot reach this scheduler`,
      );
    } finally {
      this.#binding = false;
    }
  }

  #statusLine(): string {
    const block = this.scheduler.statusBlock();
    if (block.role === "holder")
      return `scheduler: ${block.jobs} job${block.jobs === 1 ? "" : "s"}${block.next_run_at ? `, next ${block.next_run_at}` : ""}${this.sink.pending() ? `, ${this.sink.pending()} result(s) spooled` : ""}`;
    if (block.role === "standby")
      return `standing by: ${block.holder ? `the ${block.holder.kind} (pid ${block.holder.pid})` : "another process"} holds the scheduler lock`;
    return block.role;
  }

  reload(): void {
    this.log.info("config.reload", "SIGHUP: reloading config.yaml and .env");
    const next = loadConfig({
      home: this.options.home,
      configFile: this.options.configFile,
      env: process.env,
    });
    if (next.fatal) {
      this.log.error(
        "config.reload",
        `reload refused, the running configuration stays: ${next.configFile.path} cannot be used`,
      );
      return;
    }
    this.#load = next;
    this.#agent = undefined;
    this.scheduler.reload(next.config.cron.jobs);
  }

  async stop(code: number, reason: string, drain = true): Promise<void> {
    if (this.#stopping) {
      this.log.warn("cron.stop", `${reason}: already stopping; not waiting for running jobs`);
      this.scheduler.abortRuns();
      return;
    }
    this.#stopping = { code };
    const drainMs = drain ? this.#load.config.gateway.drain_timeout : 0;
    const hardMs = drainMs + HARD_DEADLINE_GRACE_MS;
    const disarm = this.options.runtime.armDeadline(hardMs + 500, code);
    const jsDeadline = setTimeout(() => {
      this.log.error(
        "cron.deadline",
        `shutdown did not finish within ${hardMs / 1000} s; exiting with ${code} now`,
      );
      process.exit(code);
    }, hardMs);
    this.hooks.stopping();
    this.log.info(
      "cron.stop",
      `${reason}: stopping (running jobs get up to ${drainMs / 1000} s), then exiting with ${code}`,
    );
    clearInterval(this.#alive);
    await this.scheduler.stop(Date.now() + drainMs);
    await within(this.sink.stop(), 2000);
    if (this.#server) {
      await within(this.#server.close(), 2000);
      rmSync(this.socketPath, { force: true });
    }
    this.scheduler.releaseLock();
    this.log.info("cron.stopped", `stopped; exit ${code}`, { exit_code: code });
    clearTimeout(jsDeadline);
    disarm();
    this.#finished(code);
  }

  // ----- the control socket (GatewayApi) ------------------------------------------------------------------------

  status() {
    return {
      version: VERSION,
      pid: process.pid,
      kind: "cron-serve",
      started_at: this.startedAt.toISOString(),
      state: this.#stopping ? "draining" : this.scheduler.role,
      control_socket: this.socketPath,
      cron: (({ role: _role, ...block }) => block)(this.scheduler.statusBlock()),
      spool: { pending: this.sink.pending() },
    };
  }

  readiness() {
    const state = this.#stopping ? "draining" : this.scheduler.role;
    return { ready: !this.#stopping && this.#ready, state };
  }

  metrics(): string {
    return this.meters.render();
  }

  async send(): Promise<SendResult> {
    return {
      ok: false,
      status: 503,
      error: "this is hermes cron serve, not the gateway: send messages through the gateway",
    };
  }

  async webhook(): Promise<Response> {
    return Response.json({ error: "hermes cron serve has no platforms" }, { status: 404 });
  }

  admin(action: "restart" | "stop" | "reload" | "drain") {
    const state = this.#stopping ? "draining" : this.scheduler.role;
    if (action === "drain" || (this.#stopping && action !== "reload")) return { accepted: false, state };
    if (action === "reload") this.reload();
    else
      setTimeout(
        () =>
          void this.stop(
            action === "restart" ? EXIT.restart : EXIT.ok,
            `${action} requested on the control socket`,
          ),
        20,
      );
    return { accepted: true, state };
  }

  cronView() {
    return this.scheduler.view();
  }

  cronRun(id: string) {
    return this.scheduler.runNow(id);
  }
}
