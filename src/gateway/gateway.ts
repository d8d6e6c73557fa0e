/**
 * The running gateway: one supervisor per enabled platform, the HTTP app on its listener and the control
 * socket, the state files, the watchdog tick, and the lifecycle (starting → running | degraded → draining →
 * stopped) with its exit codes: 0 planned stop, 75 restart requested.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Agent } from "../agent/agent.ts";
import { createAgent } from "../agent/index.ts";
import { parseListen } from "../config/fields.ts";
import type { LoadResult } from "../config/load.ts";
import type { ResolvedPlatform } from "../config/platforms.ts";
import { jobEnv } from "../cron/actions.ts";
import { Scheduler } from "../cron/scheduler.ts";
import { writeFileAtomic } from "../fs/atomic.ts";
import {
  createApp,
  createPlatformApp,
  type GatewayApi,
  type SendOptions,
  type SendResult,
} from "../http/app.ts";
import type { Diagnostic } from "../lint/diagnostic.ts";
import type { Logger } from "../log/logger.ts";
import { Outbox, type OutboxEntry } from "../outbox/outbox.ts";
import type { AdapterFactory, InboundMessage } from "../platforms/adapter.ts";
import { adapterLoader, platformByName } from "../platforms/registry.ts";
import type { Runtime, ServerHandle } from "../runtime/types.ts";
import { statusLine } from "../systemd/notify.ts";
import type { ServiceUnit } from "../systemd/unit.ts";
import { VERSION } from "../version.ts";
import { backoffDelay } from "./backoff.ts";
import { failureNotice, OutboxSink, type ResolvedTarget } from "./cron-sink.ts";
import type { LockResult } from "./lock.ts";
import { Metrics } from "./metrics.ts";
import { type AdminCommand, Pipeline } from "./pipeline.ts";
import type { PlatformStatus } from "./platform-state.ts";
import type { StateFiles } from "./state-file.ts";
import { Supervisor } from "./supervisor.ts";
import { within } from "./within.ts";

export type GatewayState = "starting" | "running" | "degraded" | "draining" | "stopped";

/** Hook points for the service manager (sd_notify lands on them: `src/systemd/notify.ts`). */
export interface LifecycleHooks {
  /** The HTTP server listens and the supervisors run (platforms may still be connecting). */
  ready(): void;
  /** A stop or restart began: the drain starts now. */
  stopping(): void;
  /** A one-line summary, given on every state write; the hook drops repeats and coalesces bursts. */
  status(line: string): void;
  /** Called from the main event loop while supervision ticks: proof that the process is alive. */
  alive(): void;
}

export const noHooks: LifecycleHooks = { ready() {}, stopping() {}, status() {}, alive() {} };

export interface GatewayDeps {
  load: LoadResult;
  diagnostics: Diagnostic[];
  runtime: Runtime;
  log: Logger;
  lock: Extract<LockResult, { ok: true }>;
  state: StateFiles;
  home: string;
  controlSocket: string;
  supervised: boolean;
  /** How to start a replacement when not supervised: [executable, args]. */
  selfCommand: [string, string[]];
  hooks: LifecycleHooks;
  /** The systemd unit this gateway runs in, recorded in state/gateway.json for `hermes gateway stop`. */
  systemd?: ServiceUnit;
  /** Reads the configuration again (SIGHUP, admin reload); throws when it cannot be used. */
  reload(): { load: LoadResult; diagnostics: Diagnostic[] };
}

/** Extra time after the drain before the process ends regardless. */
export const HARD_DEADLINE_GRACE_MS = 10_000;

export class Gateway implements GatewayApi {
  readonly meters = new Metrics();
  readonly startedAt = new Date();
  readonly #supervisors = new Map<string, Supervisor>();
  readonly #fingerprints = new Map<string, string>();
  #outbox!: Outbox;
  #pipeline!: Pipeline;
  /** The scheduler candidate: it fires jobs while it holds the scheduler lock, else stands by. */
  #scheduler: Scheduler | undefined;
  #cronSink: OutboxSink | undefined;
  #cronAgent: Agent | undefined;
  /** Whether the journals are open: a start-up that failed, or a stop during it, may come before they are. */
  #pipelineOpen = false;
  /** Platforms whose trouble was announced to the admins (announced again when they recover). */
  readonly #incidents = new Set<string>();
  #load: LoadResult;
  #state: GatewayState = "starting";
  #stopping: { code: number; reason: string } | undefined;
  #draining = false;
  #skipDrain: (() => void) | undefined;
  #servers: ServerHandle[] = [];
  /** Platforms' own webhook listeners (`listen`), by platform; each change waits for the previous one. */
  readonly #platformServers = new Map<string, Promise<ServerHandle | undefined>>();
  #timers: ReturnType<typeof setInterval>[] = [];
  #finished!: (code: number) => void;
  readonly done: Promise<number>;
  #lag = 0;

  constructor(readonly deps: GatewayDeps) {
    this.#load = deps.load;
    this.done = new Promise((resolve) => {
      this.#finished = resolve;
    });
  }

  get state(): GatewayState {
    return this.#state;
  }

  // ----- start ------------------------------------------------------------------------------------------------

  async start(): Promise<void> {
    const { log, load } = this.deps;
    await this.#openPipeline();
    this.#writeState();
    this.deps.state.startHeartbeat(process.pid);
    // We hold the lock: a socket file left here is a dead predecessor's.
    rmSync(this.deps.controlSocket, { force: true });
    this.#servers.push(
      await this.deps.runtime.serveUnix(
        createApp({ api: this, control: true }).fetch,
        this.deps.controlSocket,
      ),
    );
    // Before the platforms, and depending on none of them: jobs fire (and wait in the outbox) whatever they do.
    await this.#startScheduler();
    for (const platform of load.platforms) this.#startPlatform(platform, this.deps.diagnostics);
    await this.#listen();
    this.#startTicks();
    this.#state = this.#computeState();
    this.#writeState();
    log.info("gateway.ready", `hermes ${VERSION} ready (pid ${process.pid}): ${this.#summary()}`, {
      state: this.#state,
      http: load.config.gateway.http.listen,
      control: this.deps.controlSocket,
      supervised: this.deps.supervised,
    });
    if (!load.configFile.exists) {
      log.info(
        "gateway.default",
        `no ${load.configFile.path}: running on the embedded default (HTTP on ${load.config.gateway.http.listen}, the echo agent); try POST /v1/send and GET /status`,
      );
    }
    this.#announceBackOnline();
    this.deps.hooks.ready();
  }

  async #startScheduler(): Promise<void> {
    const { home, log, runtime } = this.deps;
    this.#cronSink = new OutboxSink({
      home,
      log,
      outbox: () => this.#outbox,
      resolve: (target) => this.#resolveTarget(target),
      ttlMs: () => this.#load.config.gateway.outbox_ttl,
    });
    this.#scheduler = new Scheduler({
      home,
      kind: "gateway",
      runtime,
      log,
      metrics: this.meters,
      sink: this.#cronSink,
      configJobs: this.#load.config.cron.jobs,
      agent: () => {
        this.#cronAgent ??= createAgent(this.#load.config.agent, { home, env: this.#env() });
        return this.#cronAgent;
      },
      env: () => jobEnv(this.#env()),
      changed: () => this.#writeState(),
    });
    await this.#scheduler.start();
  }

  #env(): Record<string, string | undefined> {
    const env: Record<string, string | undefined> = {};
    for (const [name, value] of this.#load.env.entries()) env[name] = value.value;
    return env;
  }

  /**
   * A delivery target of a job (`platform` or `platform:chat_id`): any platform hermes knows, enabled or not, so
   * that a result waits in the outbox for a platform that is down, disabled or enabled later (and expires to
   * failure_deliver). Only a target that can never be delivered (no such platform, no chat) is refused.
   */
  #resolveTarget(target: string): ResolvedTarget {
    const colon = target.indexOf(":");
    const name = colon < 0 ? target : target.slice(0, colon);
    if (!platformByName(name)) return { error: `no platform named ${JSON.stringify(name)}` };
    const chatId =
      colon < 0
        ? this.#load.platforms.find((p) => p.manifest.name === name)?.homeChannel.value
        : target.slice(colon + 1);
    if (!chatId)
      return { error: `target ${JSON.stringify(target)} names no chat and ${name} has no home_channel` };
    return { platform: name, chatId };
  }

  /** The durable outbox and inbound journal, and the agent; messages left unfinished by a crash resume. */
  async #openPipeline(): Promise<void> {
    const { home, log } = this.deps;
    const { gateway } = this.#load.config;
    this.#outbox = await Outbox.open(join(home, "outbox", "journal.log"), {
      ttlMs: gateway.outbox_ttl,
      adapterFor: (platform) => this.#supervisors.get(platform)?.adapter,
      delivered: (platform) => this.#supervisors.get(platform)?.markOutbound(),
      dead: (entry) => this.#announceDead(entry),
      settled: (entry) => this.#cronSink?.settled(entry),
      log,
      metrics: this.meters,
      retry: { initialMs: gateway.reconnect.initial, maxMs: gateway.reconnect.max },
    });
    const env: Record<string, string | undefined> = {};
    for (const [name, value] of this.#load.env.entries()) env[name] = value.value;
    this.#pipeline = await Pipeline.open(join(home, "state", "inbound.journal"), {
      agent: createAgent(this.#load.config.agent, { home, env }),
      outbox: this.#outbox,
      log,
      metrics: this.meters,
      platform: (name) => this.#load.platforms.find((p) => p.manifest.name === name),
      command: async (name, message) => this.#command(name, message),
    });
    this.#pipelineOpen = true;
  }

  /**
   * Binds `gateway.http.listen`. Start-up waits for the first attempt only: while the address is taken the
   * gateway runs on (supervision and the control socket do not need it) and retries with backoff.
   */
  async #listen(): Promise<void> {
    const { listen, auth_token } = this.#load.config.gateway.http;
    const { host, port } = parseListen(listen)!;
    const fetch = createApp({ api: this, authToken: auth_token || undefined }).fetch;
    const bind = async (attempt: number): Promise<boolean> => {
      try {
        this.#servers.push(await this.deps.runtime.serveTcp(fetch, host, port));
        if (attempt > 1) this.deps.log.info("http.bound", `listening on ${listen}`);
        return true;
      } catch (error) {
        this.deps.log.error(
          "http.bind",
          `cannot listen on ${listen} (attempt ${attempt}): ${error instanceof Error ? error.message : String(error)}; retrying`,
          {
            attempt,
          },
        );
        return false;
      }
    };
    if (await bind(1)) return;
    void (async () => {
      for (let attempt = 2; !this.#stopping; attempt++) {
        await new Promise((resolve) =>
          setTimeout(resolve, backoffDelay(attempt, { initialMs: 500, maxMs: 30_000 })),
        );
        if (this.#stopping || (await bind(attempt))) return;
      }
    })();
  }

  #startTicks(): void {
    const { watchdog } = this.#load.config.gateway;
    // When supervision last completed a round; the service manager's watchdog is fed only while it does.
    let supervisedAt = Date.now();
    this.#timers.push(
      setInterval(() => {
        const now = Date.now();
        for (const supervisor of this.#supervisors.values()) supervisor.checkLiveness(now);
        supervisedAt = now;
      }, watchdog.interval),
    );
    // Event-loop lag, and the liveness tick the service manager's watchdog feeds on.
    let expected = Date.now() + 500;
    this.#timers.push(
      setInterval(() => {
        const now = Date.now();
        this.#lag = Math.max(0, now - expected);
        expected = now + 500;
        this.meters.set(
          "hermes_event_loop_lag_seconds",
          "Delay of the main event loop",
          {},
          this.#lag / 1000,
        );
        const supervising = now - supervisedAt <= 2 * this.#load.config.gateway.watchdog.interval + 1000;
        // The scheduler ticks every second, holder or standby, whatever the platforms do.
        const scheduling =
          this.#scheduler?.lastTickAt != null &&
          now - this.#scheduler.lastTickAt <= 3 * this.#scheduler.tickMs;
        if (!this.#stopping && supervising && scheduling) this.deps.hooks.alive();
      }, 500),
    );
  }

  // ----- platforms --------------------------------------------------------------------------------------------

  #startPlatform(platform: ResolvedPlatform, diagnostics: Diagnostic[]): void {
    const name = platform.manifest.name;
    if (!platform.enabled) return;
    const credentials: Record<string, string> = {};
    for (const c of platform.credentials) if (c.value !== undefined) credentials[c.spec.key] = c.value;
    const log = this.deps.log.child({ platform: name });
    const { reconnect, watchdog } = this.#load.config.gateway;
    const load = adapterLoader(name);
    const supervisor = new Supervisor({
      manifest: platformByName(name) ?? platform.manifest,
      block: platform.block ?? { require_mention: false },
      credentials,
      reconnect: { initialMs: reconnect.initial, maxMs: reconnect.max },
      failureThreshold: watchdog.failure_threshold,
      load: load ?? (() => Promise.reject(new Error("no adapter"))),
      log,
      onTransition: (status, previous) => this.#onTransition(name, status, previous, log),
      receive: (message) => this.#pipeline.receive(message),
      onAnnounce: (reason) => this.#openIncident(name, "backoff", reason),
      onEvent: (event) =>
        this.meters.inc(
          "hermes_platform_events_total",
          "Protocol events counted by adapters (stale polls, …)",
          {
            platform: name,
            event,
          },
        ),
      onWatchdogTrip: () =>
        this.meters.inc("hermes_watchdog_trips_total", "Adapters torn down for showing no progress", {
          platform: name,
        }),
    });
    this.#supervisors.set(name, supervisor);
    this.#fingerprints.set(name, fingerprint(platform));
    const error = diagnostics.find((d) => d.platform === name && d.severity === "error");
    if (error) supervisor.disable(`${error.rule}: ${error.message}`);
    else if (!load)
      supervisor.disable(
        `not-implemented: this version of hermes has no ${platform.manifest.title} adapter yet`,
      );
    else {
      supervisor.start();
      this.#servePlatform(name, platform.manifest.transport.webhook ? platform.block?.listen : undefined);
      return;
    }
    // Disabled: a listener left from before a reload goes.
    this.#servePlatform(name, undefined);
  }

  /**
   * Binds (or rebinds, or closes, when `listen` is undefined) a platform's own webhook listener. A bind that
   * fails is retried with backoff while the listener is still wanted; the route on gateway.http serves meanwhile.
   */
  #servePlatform(name: string, listen: string | undefined): void {
    const previous = this.#platformServers.get(name) ?? Promise.resolve(undefined);
    const next = previous.then(async (old) => {
      await old?.close();
      if (!listen) return undefined;
      const { host, port } = parseListen(listen)!;
      const fetch = createPlatformApp(this, name).fetch;
      for (let attempt = 1; !this.#stopping && this.#platformServers.get(name) === next; attempt++) {
        try {
          const server = await this.deps.runtime.serveTcp(fetch, host, port);
          this.deps.log.info("http.platform", `${name}: webhooks also on ${listen}`, { platform: name });
          return server;
        } catch (error) {
          this.deps.log.error(
            "http.platform",
            `${name}: cannot listen on ${listen} (attempt ${attempt}): ${error instanceof Error ? error.message : String(error)}; retrying, meanwhile its webhooks are served on gateway.http`,
            { platform: name, attempt },
          );
          await new Promise((r) => {
            // Unref'd: a listener still being retried must not keep a stopped gateway's process alive.
            const timer = setTimeout(r, backoffDelay(attempt, { initialMs: 500, maxMs: 30_000 }));
            (timer as { unref?: () => void }).unref?.();
          });
        }
      }
      return undefined;
    });
    this.#platformServers.set(name, next);
  }

  #onTransition(name: string, status: PlatformStatus, previous: PlatformStatus, log: Logger): void {
    const metrics = this.meters;
    if (status.state !== previous.state) {
      metrics.inc("hermes_platform_transitions_total", "Platform state transitions", {
        platform: name,
        to: status.state,
      });
      metrics.set(
        "hermes_platform_state",
        "Current platform state (1 for the current one)",
        { platform: name, state: previous.state },
        0,
      );
      metrics.set(
        "hermes_platform_state",
        "Current platform state (1 for the current one)",
        { platform: name, state: status.state },
        1,
      );
      metrics.set(
        "hermes_platform_up",
        "1 while the platform is connected",
        { platform: name },
        status.state === "connected" ? 1 : 0,
      );
    }
    if (status.reconnects > previous.reconnects)
      metrics.inc("hermes_platform_reconnects_total", "Connections re-established", { platform: name });
    if (status.state === previous.state && status.reason === previous.reason) return;
    const detail =
      status.state === "backoff"
        ? ` (attempt ${status.attempts}, retry in ${Math.max(0, (status.nextRetryAt ?? 0) - Date.now())} ms): ${status.reason}`
        : status.reason
          ? `: ${status.reason}`
          : "";
    const level =
      status.state === "failed" || status.state === "disabled"
        ? "error"
        : status.state === "backoff"
          ? "warn"
          : "info";
    log[level]("platform.state", `${name}: ${previous.state} → ${status.state}${detail}`, {
      state: status.state,
      reason: status.reason,
      attempts: status.attempts,
      next_retry_at: status.nextRetryAt ? new Date(status.nextRetryAt).toISOString() : null,
    });
    if (status.state === "connected") {
      this.#lastConnected.set(name, Date.now());
      this.#outbox.wake(name);
    } else if (previous.state === "connected") this.#lastConnected.set(name, Date.now());
    this.#trackIncident(name, status);
    if (this.#state !== "starting" && !this.#stopping && !this.#draining) this.#state = this.#computeState();
    this.#writeState();
  }

  #computeState(): GatewayState {
    if (this.#stopping || this.#draining) return "draining";
    const all = [...this.#supervisors.values()];
    return all.every((s) => s.status.state === "connected") ? "running" : "degraded";
  }

  #summary(): string {
    const all = [...this.#supervisors.values()];
    if (all.length === 0) return "no platforms enabled";
    const up = all.filter((s) => s.status.state === "connected").length;
    return `${up}/${all.length} platforms connected`;
  }

  // ----- GatewayApi (HTTP) ------------------------------------------------------------------------------------

  status() {
    const platforms: Record<string, unknown> = {};
    for (const [name, s] of this.#supervisors) {
      const st = s.status;
      platforms[name] = {
        state: st.state,
        since: iso(st.since),
        reason: st.reason,
        reconnects: st.reconnects,
        attempts: st.attempts,
        last_inbound_at: iso(s.lastInboundAt),
        last_outbound_at: iso(s.lastOutboundAt),
        next_retry_at: iso(st.nextRetryAt),
      };
    }
    return {
      version: VERSION,
      pid: process.pid,
      started_at: this.startedAt.toISOString(),
      state: this.#state,
      restart_requested: this.#stopping?.code === 75,
      supervised: this.deps.supervised,
      control_socket: this.deps.controlSocket,
      platforms,
      cron: this.#cronStatus(),
      outbox: this.#outbox
        ? { pending: this.#outbox.pending(), dead: this.#outbox.dead() }
        : { pending: 0, dead: 0 },
      event_loop_lag_ms: this.#lag,
    };
  }

  readiness() {
    const state = this.#state;
    if (state === "running") return { ready: true, state };
    if (state !== "degraded") return { ready: false, state };
    const all = [...this.#supervisors.values()];
    const anyUp = all.some((s) => s.status.state === "connected");
    const chatConfigured = all.some((s) => s.options.manifest.chat);
    return { ready: anyUp || !chatConfigured, state };
  }

  metrics(): string {
    const syncs = "Journal fdatasync calls (one per group-committed batch)";
    this.meters.set(
      "hermes_journal_syncs_total",
      syncs,
      { journal: "inbound" },
      this.#pipeline.journal.stats.syncs,
    );
    this.meters.set(
      "hermes_journal_syncs_total",
      syncs,
      { journal: "outbox" },
      this.#outbox.journal.stats.syncs,
    );
    return this.meters.render();
  }

  async send(target: string, text: string, options: SendOptions = {}): Promise<SendResult> {
    const colon = target.indexOf(":");
    const name = colon < 0 ? target : target.slice(0, colon);
    const supervisor = this.#supervisors.get(name);
    if (!supervisor) {
      return platformByName(name)
        ? { ok: false, status: 409, error: `platform ${name} is not enabled` }
        : { ok: false, status: 400, error: `no platform named ${JSON.stringify(name)}` };
    }
    if (supervisor.status.state === "disabled")
      return { ok: false, status: 409, error: `platform ${name} is disabled: ${supervisor.status.reason}` };
    const chatId =
      colon < 0
        ? this.#load.platforms.find((p) => p.manifest.name === name)?.homeChannel.value
        : target.slice(colon + 1);
    if (!chatId)
      return {
        ok: false,
        status: 400,
        error: `target ${JSON.stringify(target)} names no chat and ${name} has no home_channel`,
      };
    if (this.#stopping)
      return { ok: false, status: 503, error: "the gateway is stopping; retry once it is back" };
    try {
      const id = await this.#outbox.enqueue(
        { ...(options.id ? { id: options.id } : {}), platform: name, chatId, text, inReplyTo: null },
        { failureTargets: options.failureTargets ?? [] },
      );
      return { ok: true, id };
    } catch (error) {
      return {
        ok: false,
        status: 503,
        error: `the outbox cannot be written: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  }

  #cronStatus() {
    if (!this.#scheduler)
      return { alive: false, last_tick_at: null, jobs: 0, next_run_at: null, holder: null };
    const { role: _role, ...block } = this.#scheduler.statusBlock();
    return block;
  }

  cronView() {
    return this.#scheduler?.view() ?? { holder: null, alive: false, last_tick_at: null, jobs: [] };
  }

  cronRun(id: string) {
    if (!this.#scheduler)
      return Promise.resolve({ status: 503 as const, body: { error: "the scheduler has not started yet" } });
    return this.#scheduler.runNow(id);
  }

  async webhook(platform: string, request: Request): Promise<Response> {
    const supervisor = this.#supervisors.get(platform);
    const adapter = supervisor?.adapter;
    if (!supervisor) return Response.json({ error: `platform ${platform} is not enabled` }, { status: 404 });
    if (this.#stopping || this.#draining)
      return Response.json({ error: "the gateway is draining; retry shortly" }, { status: 503 });
    if (!adapter?.webhook)
      return Response.json({ error: `platform ${platform} is ${supervisor.status.state}` }, { status: 503 });
    return adapter.webhook(request);
  }

  admin(action: "restart" | "stop" | "reload" | "drain") {
    if (this.#stopping && action !== "reload") return { accepted: false, state: this.#state };
    // The answer is sent before the servers close: the stop starts on the next turn of the loop.
    if (action === "restart")
      setTimeout(() => void this.stop(75, "restart requested on the control socket"), 20);
    else if (action === "stop")
      setTimeout(() => void this.stop(0, "stop requested on the control socket"), 20);
    else if (action === "reload") this.reload();
    else this.#drainOnly();
    return { accepted: true, state: this.#state };
  }

  // ----- reload, drain, stop ----------------------------------------------------------------------------------

  /** Re-reads config.yaml and .env and applies changed platforms without a restart; failed ones retry. */
  reload(): void {
    const { log } = this.deps;
    let next: ReturnType<GatewayDeps["reload"]>;
    try {
      next = this.deps.reload();
    } catch (error) {
      log.error(
        "config.reload",
        `reload refused, the running configuration stays: ${error instanceof Error ? error.message : String(error)}`,
      );
      return;
    }
    const before = this.#load;
    this.#load = next.load;
    this.#cronAgent = undefined;
    this.#scheduler?.reload(next.load.config.cron.jobs);
    for (const key of ["listen", "auth_token"] as const) {
      if (before.config.gateway.http[key] !== next.load.config.gateway.http[key]) {
        log.warn("config.reload", `gateway.http.${key} changed: it applies at the next restart`);
      }
    }
    const names = new Set([
      ...this.#supervisors.keys(),
      ...next.load.platforms.filter((p) => p.enabled).map((p) => p.manifest.name),
    ]);
    for (const name of names) {
      const platform = next.load.platforms.find((p) => p.manifest.name === name);
      const old = this.#supervisors.get(name);
      const changed =
        !platform?.enabled ||
        !old ||
        this.#fingerprints.get(name) !== fingerprint(platform) ||
        old.status.state === "failed";
      if (!changed) continue;
      if (old) {
        this.#supervisors.delete(name);
        void old.stop();
      }
      if (platform?.enabled) this.#startPlatform(platform, next.diagnostics);
      else this.#servePlatform(name, undefined);
      log.info(
        "config.reload",
        `${name}: ${platform?.enabled ? (old ? "restarted with the new settings" : "started") : "stopped (no longer enabled)"}`,
        {
          platform: name,
        },
      );
    }
    this.#state = this.#computeState();
    this.#writeState();
  }

  #drainOnly(): void {
    if (this.#draining) return;
    this.#draining = true;
    // Only STATUS= reaches systemd here, never STOPPING=1: the process stays, and STOPPING=1 would start the
    // unit's stop timeout, after which systemd kills it.
    this.#state = "draining";
    this.#writeState();
    this.deps.log.info("gateway.drain", "draining: no new messages are taken; in-flight work finishes");
    void this.#pipeline.drain(Date.now() + this.#load.config.gateway.drain_timeout);
  }

  /**
   * Drained stop: stop taking new work, finish in-flight work up to the drain timeout, persist, disconnect,
   * release the lock, and end with `code` (0 stop, 75 restart). A second request skips what is left of the drain.
   * `drain: false` (a start-up that failed) closes whatever start-up had opened at once.
   */
  async stop(code: number, reason: string, options: { drain?: boolean } = {}): Promise<void> {
    const { log, runtime } = this.deps;
    if (this.#stopping) {
      log.warn("gateway.stop", `${reason}: already stopping; not waiting for the rest of the drain`);
      this.#skipDrain?.();
      return;
    }
    this.#stopping = { code, reason };
    const drainMs = options.drain === false ? 0 : this.#load.config.gateway.drain_timeout;
    const hardMs = drainMs + HARD_DEADLINE_GRACE_MS;
    // The deadline ends the process with `code` whatever is left: a socket, a timer, a promise, a busy loop.
    const disarmThread = runtime.armDeadline(hardMs + 500, code);
    const jsDeadline = setTimeout(() => {
      log.error(
        "gateway.deadline",
        `shutdown did not finish within ${hardMs / 1000} s; exiting with ${code} now`,
      );
      this.deps.state.flush();
      process.exit(code);
    }, hardMs);
    this.deps.hooks.stopping();
    this.#state = "draining";
    this.#writeState();
    const plan = drainMs > 0 ? `draining (up to ${drainMs / 1000} s), then exiting` : "exiting";
    log.info("gateway.stop", `${reason}: ${plan} with ${code}`, { state: "draining", exit_code: code });

    const drainDeadline = Date.now() + drainMs;
    const pipelineOpen = this.#pipelineOpen;
    // Running jobs get the drain time too, then are killed (recorded as interrupted: their slots stay spent).
    const schedulerStopped = this.#scheduler?.stop(drainDeadline);
    await Promise.race([
      (async () => {
        await Promise.all([schedulerStopped, pipelineOpen ? this.#pipeline.drain(drainDeadline) : undefined]);
        // Last, so that the results of jobs that ended during the drain go out too.
        if (pipelineOpen) await this.#outbox.drain(drainDeadline);
      })(),
      new Promise<void>((resolve) => {
        this.#skipDrain = resolve;
      }),
    ]);
    this.#scheduler?.abortRuns();
    await within(schedulerStopped ?? Promise.resolve(), 3000);
    if (code === 75 && !this.deps.supervised) this.#spawnReplacement();
    for (const timer of this.#timers) clearInterval(timer);
    const stopping = [...this.#supervisors.values()].map((s) => s.stop());
    await within(Promise.all(stopping), Math.max(1000, HARD_DEADLINE_GRACE_MS / 2));
    // A journal that opened before start-up failed is closed too (the other may not exist).
    await within(Promise.all([this.#pipeline?.stop(), this.#outbox?.stop()]), 2000);
    const platformServers = [...this.#platformServers.values()];
    this.#platformServers.clear();
    await within(
      Promise.all([
        ...this.#servers.map((s) => s.close()),
        ...platformServers.map(async (p) => (await p)?.close()),
      ]),
      2000,
    );
    this.deps.state.stopHeartbeat();
    this.#state = "stopped";
    this.#writeState();
    this.deps.state.flush();
    rmSync(this.deps.controlSocket, { force: true });
    this.#scheduler?.releaseLock();
    this.deps.lock.release();
    log.info("gateway.stopped", `stopped; exit ${code}`, { state: "stopped", exit_code: code });
    clearTimeout(jsDeadline);
    disarmThread();
    this.#finished(code);
  }

  /** Not supervised, a restart starts its own replacement: same program and arguments, in a new session. */
  #spawnReplacement(): void {
    const [command, prefix] = this.deps.selfCommand;
    const errors = join(this.deps.home, "logs", "gateway.err");
    let fd: number | undefined;
    try {
      fd = openSync(errors, "a", 0o600);
      const child = spawn(command, [...prefix, ...process.argv.slice(2)], {
        detached: true,
        stdio: ["ignore", "ignore", fd],
        env: { ...process.env, HERMES_LOCK_WAIT_MS: "10000" },
      });
      child.unref();
      this.deps.log.info(
        "gateway.replace",
        `started the replacement gateway (pid ${child.pid}); it takes over when this one exits`,
        {
          replacement_pid: child.pid,
        },
      );
    } catch (error) {
      this.deps.log.error(
        "gateway.replace",
        `could not start a replacement: ${String(error)}; start hermes gateway run again`,
      );
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  // ----- chat commands and announcements ----------------------------------------------------------------------

  async #command(
    name: AdminCommand,
    message: InboundMessage,
  ): Promise<{ reply: string; after?: () => void }> {
    const s = this.status();
    const platforms = Object.entries(s.platforms as Record<string, { state: string; reason: string | null }>);
    const line = ([n, p]: [string, { state: string; reason: string | null }]) =>
      `${n}: ${p.state}${p.reason ? ` (${p.reason})` : ""}`;
    switch (name) {
      case "status": {
        const up = formatUptime(Date.now() - this.startedAt.getTime());
        return {
          reply: [
            `hermes ${VERSION}: ${s.state}, pid ${process.pid}, up ${up}`,
            `platforms: ${platforms.length === 0 ? "none" : platforms.map(([n, p]) => `${n} ${p.state}`).join(", ")}`,
            `outbox: ${s.outbox.pending} pending, ${s.outbox.dead} dead`,
          ].join("\n"),
        };
      }
      case "platforms":
        return {
          reply: platforms.length === 0 ? "No platforms are enabled." : platforms.map(line).join("\n"),
        };
      case "cron":
        return { reply: this.#scheduler?.summary() ?? "The scheduler has not started yet." };
      case "restart":
        return {
          reply: "Restarting…",
          after: () => {
            writeFileAtomic(
              join(this.deps.home, "state", "restart-notify.json"),
              `${JSON.stringify({ platform: message.platform, chat_id: message.chatId, requested_at: Date.now() })}\n`,
            );
            void this.stop(75, `/restart from ${message.userId} on ${message.platform}`);
          },
        };
    }
  }

  /** After a restart asked for in a chat, that chat hears that the gateway is back, from the new process. */
  #announceBackOnline(): void {
    const path = join(this.deps.home, "state", "restart-notify.json");
    let notify: { platform: string; chat_id: string; requested_at: number };
    try {
      notify = JSON.parse(readFileSync(path, "utf8"));
    } catch {
      return;
    }
    rmSync(path, { force: true });
    const seconds = ((Date.now() - notify.requested_at) / 1000).toFixed(1);
    void this.#outbox
      .enqueue(
        {
          platform: notify.platform,
          chatId: notify.chat_id,
          text: `Back online after ${seconds} s.`,
          inReplyTo: null,
        },
        { notice: true },
      )
      .catch(() => {});
  }

  /** Sends a notice to the admins: the home channel of every working platform that has admins. */
  #announce(text: string, about?: string): void {
    for (const [name, supervisor] of this.#supervisors) {
      if (name === about || supervisor.status.state !== "connected") continue;
      const platform = this.#load.platforms.find((p) => p.manifest.name === name);
      const home = platform?.homeChannel.value;
      if (!home || (platform?.block?.admins ?? []).length === 0) continue;
      void this.#outbox
        .enqueue({ platform: name, chatId: home, text, inReplyTo: null }, { notice: true })
        .catch(() => {});
    }
  }

  #announceDead(entry: OutboxEntry): void {
    if (entry.failureTargets.length > 0) {
      // Its own failure targets are told instead of the admins (a failure notice carries none: it stops there).
      const text = failureNotice(entry);
      entry.failureTargets.forEach((target, n) => {
        const where = this.#resolveTarget(target);
        if ("error" in where) {
          this.deps.log.error(
            "outbox.failure_notice",
            `cannot tell ${target} that ${entry.message.id} failed: ${where.error}`,
          );
          return;
        }
        void this.#outbox
          .enqueue({
            id: `${entry.message.id}:failed:${n}`,
            platform: where.platform,
            chatId: where.chatId,
            text,
            inReplyTo: null,
          })
          .catch(() => {});
      });
      return;
    }
    this.#announce(
      `⚠️ A message to ${entry.message.platform}:${entry.message.chatId} could not be delivered (${entry.reason}). See hermes outbox list --dead.`,
      entry.message.platform,
    );
  }

  /** A platform that fails, or stays out of `connected` too long, is announced once; and once when it recovers. */
  #trackIncident(name: string, status: PlatformStatus): void {
    if (status.state === "connected") {
      if (this.#incidents.delete(name)) this.#announce(`✅ ${name} is connected again.`, name);
      return;
    }
    if (this.#incidents.has(name) || this.#stopping) return;
    const threshold = Math.max(60_000, 2 * this.#load.config.gateway.reconnect.max);
    const outFor = Date.now() - (this.#lastConnected.get(name) ?? this.startedAt.getTime());
    if (status.state === "failed" || (status.state === "backoff" && outFor > threshold))
      this.#openIncident(name, status.state, status.reason);
  }

  /** Tells the admins once per incident (and once more when the platform is connected again). */
  #openIncident(name: string, state: string, reason: string | null): void {
    if (this.#incidents.has(name) || this.#stopping) return;
    this.#incidents.add(name);
    this.#announce(`⚠️ ${name} is ${state}: ${reason ?? "no reason given"}`, name);
  }

  readonly #lastConnected = new Map<string, number>();

  // ----- outbox administration (control socket) ----------------------------------------------------------------

  outboxList(state: "pending" | "dead") {
    return this.#outbox.list(state).map((e) => ({
      id: e.message.id,
      target: `${e.message.platform}:${e.message.chatId}`,
      text: e.message.text,
      accepted_at: new Date(e.acceptedAt).toISOString(),
      attempts: e.attempts,
      reason: e.reason,
    }));
  }

  /** Dead letters become pending again; pending messages are tried again now. */
  async outboxRetry(state: "pending" | "dead", ids?: string[]): Promise<string[]> {
    if (state === "dead") return this.#outbox.retry(ids);
    this.#outbox.wakeAll();
    return this.#outbox
      .list("pending")
      .map((e) => e.message.id)
      .filter((id) => !ids || ids.includes(id));
  }

  outboxPurge(state: "pending" | "dead", ids?: string[]): Promise<string[]> {
    return this.#outbox.purge(state, ids);
  }

  #writeState(): void {
    this.deps.state.write({
      ...this.status(),
      home: this.deps.home,
      http: this.#load.config.gateway.http.listen,
      updated_at: new Date().toISOString(),
      invocation_id: process.env.INVOCATION_ID ?? null,
      systemd: this.deps.systemd ?? null,
    });
    const platforms = [...this.#supervisors.values()].map((s) => s.status.state);
    this.deps.hooks.status(statusLine(this.#state, platforms));
  }
}

function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** What a platform runs with; a reload restarts the platform when this changes. */
function fingerprint(platform: ResolvedPlatform): string {
  return JSON.stringify({
    block: platform.block ?? null,
    credentials: platform.credentials.map((c) => c.value ?? null),
    allowed: platform.allowedUsers.value,
    allowAll: platform.allowAll.value,
  });
}

export type { AdapterFactory };
