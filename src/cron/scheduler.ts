/**
 * The scheduler: one per process that may fire jobs (the gateway, `hermes cron serve`), of which exactly one per
 * HERMES_HOME fires: the holder of the scheduler lock. The others stand by, retry the lock every tick (1 s) and
 * take over when the holder dies.
 *
 * Firing is driven by one timer on the main event loop, armed for the earliest next slot of all jobs (never a
 * busy tick over every job), plus a 1 s heartbeat tick: it proves liveness (`last_tick_at`, the systemd watchdog
 * condition), retries the lock on a standby, and fires whatever a late timer left due.
 *
 * "No slot runs twice" holds across kill -9 because a slot is written to `cron/state.json` (`last_slot`, and
 * `running`) before its action starts; a run found `running` at start-up was interrupted and is recorded as an
 * error, never re-run. Slots that came due while no scheduler ran are handled per `catchup` (catchup.ts).
 */
import type { Agent } from "../agent/agent.ts";
import type { Metrics } from "../gateway/metrics.ts";
import type { Logger } from "../log/logger.ts";
import type { Runtime } from "../runtime/types.ts";
import { type ActionResult, actionOf, killLeftovers, runAction } from "./actions.ts";
import { planCatchup } from "./catchup.ts";
import { cronPaths, readStateFile, writeStateFile } from "./files.ts";
import { JobsFileWatcher, mergeJobs } from "./jobs.ts";
import { readSchedulerHolder, tryAcquireSchedulerLock } from "./lock.ts";
import { isValidTimeZone } from "./schedule.ts";
import { compileSchedule, nextSlot, type Slots, slotsIn } from "./slots.ts";
import {
  type CronStateFile,
  type CronView,
  emptyJobState,
  type Job,
  type JobConfig,
  type JobState,
  type ListEntry,
  type LockHolder,
  listEntry,
  type RunResult,
  type SchedulerKind,
} from "./types.ts";
import { formatInZone } from "./zone.ts";

/** One message of a job's result (or a failure notice) for one target. */
export interface CronMessage {
  /** Stable: `cron:<job>:<slot>:<n>` for the result to `deliver[n]`; the outbox de-duplicates by it. */
  id: string;
  target: string;
  text: string;
  /** Told when this message cannot be delivered (empty for failure notices themselves). */
  failureTargets: string[];
}

/** Where results go: the gateway's outbox, or (`cron serve`) a spool forwarded to the gateway. */
export interface DeliverySink {
  /** Accepts the messages; resolves once each is durable, listing those refused at once, with why. */
  deliver(messages: CronMessage[]): Promise<{ id: string; target: string; error: string }[]>;
  /** Follows the result messages of a run (`cron:<job>:<slot>:<n>`) and reports once what became of them. */
  follow(jobId: string, slot: string, report: (outcome: "delivered" | "failed") => void): void;
  /** This process became the lock holder: take over what the previous holder left in `cron/spool.journal`. */
  held?(): Promise<void>;
}

export interface SchedulerOptions {
  home: string;
  kind: SchedulerKind;
  runtime: Runtime;
  log: Logger;
  metrics: Metrics;
  sink: DeliverySink;
  /** `cron.jobs` of config.yaml. */
  configJobs: JobConfig[];
  /** The agent backend, for `prompt` jobs. */
  agent: () => Agent;
  /** The environment command jobs run with (the process's, with .env over it). */
  env: () => Record<string, string | undefined>;
  /** What `/status` shows changed: the role, the holder, the jobs. */
  changed?: () => void;
  /** Heartbeat and lock retry period. @default 1000 */
  tickMs?: number;
}

export type Role = "idle" | "standby" | "holder" | "stopping" | "stopped";

interface Run {
  slot: string;
  manual: boolean;
  controller: AbortController;
  done: Promise<RunResult>;
}

interface Entry {
  job: Job;
  slots: Slots | null;
  /** Why the job cannot be scheduled (bad schedule, zone or action), or null. */
  invalid: string | null;
  /** The latest slot dealt with in this process: started, queued or counted as missed. */
  cursor: number;
  /** The next slot to fire, or null (disabled, invalid, or a one-shot that has fired). */
  next: number | null;
  run: Run | null;
  /** Missed slots `catchup: all` still has to run, oldest first. */
  queue: number[];
  /** The job left the configuration while it ran: its state goes once the run ends. */
  removed: boolean;
}

/** A single due slot later than this is treated as missed (the machine slept, the clock jumped). */
export const LATE_MS = 60_000;
/** The fire timer is re-armed at least this often, so a clock change is noticed. */
const MAX_TIMER_MS = 60_000;
/** How often the slots of paused jobs are marked as passed (so they never count as missed). */
const PAUSED_SYNC_MS = 60_000;

const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

export class Scheduler {
  readonly #o: SchedulerOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #watcher: JobsFileWatcher;
  #configJobs: JobConfig[];
  #state: CronStateFile = { version: 1, jobs: {} };
  #role: Role = "idle";
  #holder: LockHolder | null = null;
  #lastTickAt: number | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #beat: ReturnType<typeof setInterval> | undefined;
  #persistTimer: ReturnType<typeof setTimeout> | undefined;
  #pausedSyncAt = 0;
  #acquiring = false;
  #release: (() => void) | undefined;
  #lockError: string | undefined;
  #reportedHolder: number | null | undefined;

  constructor(options: SchedulerOptions) {
    this.#o = options;
    this.#configJobs = options.configJobs;
    this.#watcher = new JobsFileWatcher(options.home, options.log, () => this.#setJobs());
  }

  get role(): Role {
    return this.#role;
  }

  /** When the heartbeat last ticked (ms), or null before the first tick. */
  get lastTickAt(): number | null {
    return this.#lastTickAt;
  }

  get tickMs(): number {
    return this.#o.tickMs ?? 1000;
  }

  /** Reads the jobs, tries the lock (holder or standby), and starts the heartbeat. */
  async start(): Promise<void> {
    this.#watcher.start();
    this.#setJobs();
    this.#tick();
    if (this.#role === "idle") await this.#tryLock();
    if (this.#role === "idle") this.#standBy(null);
    this.#beat = setInterval(() => this.#tick(), this.tickMs);
  }

  /** A configuration reload (SIGHUP): new `cron.jobs`, and jobs.json read again. */
  reload(configJobs: JobConfig[]): void {
    this.#configJobs = configJobs;
    this.#watcher.reread();
    this.#setJobs();
  }

  /**
   * Stops firing at once; running jobs get until `deadline` to finish, then are killed (recorded as
   * interrupted, their slots stay recorded, so none is run again).
   */
  async stop(deadline: number): Promise<void> {
    if (this.#role === "stopping" || this.#role === "stopped") return;
    const wasHolder = this.#role === "holder";
    this.#role = "stopping";
    clearTimeout(this.#timer);
    clearInterval(this.#beat);
    this.#watcher.stop();
    const runs = () => [...this.#entries.values()].flatMap((e) => (e.run ? [e.run] : []));
    for (const e of this.#entries.values()) e.queue = [];
    const pending = runs();
    if (pending.length > 0) {
      this.#o.log.info(
        "cron.drain",
        `waiting up to ${Math.max(0, Math.round((deadline - Date.now()) / 1000))} s for ${pending.length} running job(s): ${pending.map((r) => r.slot).join(", ")}`,
      );
      await Promise.race([
        Promise.all(pending.map((r) => r.done)),
        new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now()))),
      ]);
    }
    for (const r of runs()) r.controller.abort();
    await Promise.race([
      Promise.all(runs().map((r) => r.done)),
      new Promise((resolve) => setTimeout(resolve, 2000)),
    ]);
    clearTimeout(this.#persistTimer);
    if (wasHolder) {
      this.#syncPaused(Date.now(), true);
      this.#writeState();
    }
    this.#role = "stopped";
  }

  /** Lets go of the scheduler lock (the Node fallback's file; a flock goes with the process). After stop(). */
  releaseLock(): void {
    this.#release?.();
    this.#release = undefined;
  }

  /** Kills every running job now (a stop whose drain was cut short). */
  abortRuns(): void {
    for (const e of this.#entries.values()) {
      e.queue = [];
      e.run?.controller.abort();
    }
  }

  // ----- views --------------------------------------------------------------------------------------------------

  view(): CronView {
    const holding = this.#role === "holder";
    const state = holding ? this.#state : readStateFile(this.#o.home);
    const now = Date.now();
    return {
      holder: holding ? this.#holder : readSchedulerHolder(this.#o.home),
      alive: this.alive(now),
      last_tick_at: iso(this.#lastTickAt),
      jobs: [...this.#entries.values()].map((e) => this.#jobView(e, state.jobs[e.job.id], holding, now)),
    };
  }

  /** This process fires jobs and its heartbeat is fresh. */
  alive(now = Date.now()): boolean {
    return this.#role === "holder" && this.#lastTickAt !== null && now - this.#lastTickAt <= 3 * this.tickMs;
  }

  /** The `cron` block of `/status` and `state/gateway.json`. */
  statusBlock() {
    const holding = this.#role === "holder";
    let next: number | null = null;
    const now = Date.now();
    for (const e of this.#entries.values()) {
      // A standby shows what the holder will fire next: the next slot from now.
      const at = holding ? e.next : this.#nextFrom(e, null, now);
      if (at !== null && e.job.enabled && (next === null || at < next)) next = at;
    }
    return {
      alive: this.alive(now),
      last_tick_at: iso(this.#lastTickAt),
      jobs: this.#entries.size,
      next_run_at: iso(next),
      holder: holding ? this.#holder : readSchedulerHolder(this.#o.home),
      role: this.#role,
    };
  }

  /** A short list for the `/cron` chat command. */
  summary(limit = 20): string {
    const view = this.view();
    const who = view.holder
      ? `scheduler: ${view.holder.kind} pid ${view.holder.pid}${view.alive ? "" : this.#role === "holder" ? " (not ticking!)" : ""}`
      : "⚠️ no scheduler is running: jobs do not fire";
    if (view.jobs.length === 0) return `${who}\nNo jobs.`;
    const lines = view.jobs.slice(0, limit).map((j) => {
      const next = j.enabled
        ? `next ${j.next_run_at ? formatInZone(new Date(j.next_run_at), j.timezone, { showZone: true }) : "never"}`
        : "paused";
      const last = j.last_status
        ? `${j.last_status}${j.last_error ? ` (${j.last_error.slice(0, 60)})` : ""}`
        : "never run";
      return `${j.id}: ${next}; last ${last}${j.missed_runs ? `; missed ${j.missed_runs}` : ""}`;
    });
    if (view.jobs.length > limit) lines.push(`… and ${view.jobs.length - limit} more (hermes cron list)`);
    return [who, ...lines].join("\n");
  }

  #jobView(e: Entry, s: JobState | undefined, holding: boolean, now: number): ListEntry {
    const next = holding ? e.next : this.#nextFrom(e, s?.last_slot ? Date.parse(s.last_slot) : null, now);
    return listEntry(e.job, s, next, e.invalid);
  }

  /** The next slot after `lastSlot` and now (what a standby shows). */
  #nextFrom(e: Entry, lastSlot: number | null, now: number): number | null {
    if (!e.slots || e.invalid || !e.job.enabled) return null;
    return nextSlot(e.slots, lastSlot, now);
  }

  // ----- run now (control socket) -----------------------------------------------------------------------------

  /** Runs a job now, outside its schedule (not a slot): `hermes cron run ID`. */
  async runNow(id: string): Promise<{ status: 200 | 404 | 409 | 503; body: RunResult | { error: string } }> {
    if (this.#role !== "holder") {
      const holder = readSchedulerHolder(this.#o.home);
      return {
        status: 503,
        body: {
          error: `this process is not the scheduler; the holder is ${holder ? `pid ${holder.pid}` : "none (no scheduler is running)"}`,
        },
      };
    }
    const entry = this.#entries.get(id);
    if (!entry) return { status: 404, body: { error: `no job with id ${JSON.stringify(id)}` } };
    if (entry.run)
      return { status: 409, body: { error: `job ${id} is running right now (slot ${entry.run.slot})` } };
    const key = `manual-${new Date().toISOString()}`;
    this.#mark(entry, key, true);
    try {
      this.#writeState();
    } catch (error) {
      Object.assign(this.#stateOf(id), { running: null, last_status: "error", last_error: String(error) });
      return {
        status: 503,
        body: { error: `${cronPaths(this.#o.home).state} cannot be written: ${String(error)}` },
      };
    }
    const run = this.#launch(entry, key, true);
    return { status: 200, body: await run.done };
  }

  // ----- the lock -----------------------------------------------------------------------------------------------

  async #tryLock(): Promise<void> {
    if (this.#acquiring) return;
    this.#acquiring = true;
    try {
      const lock = await tryAcquireSchedulerLock(this.#o.home, this.#o.runtime, this.#o.kind);
      if (this.#role !== "idle" && this.#role !== "standby") return;
      if (lock.ok) {
        this.#release = lock.release;
        this.#becomeHolder({ pid: process.pid, kind: this.#o.kind, since: lock.since });
      } else if (this.#role === "idle") this.#standBy(lock.holder);
      else if (lock.holder !== this.#reportedHolder) this.#standBy(lock.holder);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      if (why !== this.#lockError) {
        this.#lockError = why;
        this.#o.log.error(
          "cron.lock",
          `cannot take the scheduler lock ${cronPaths(this.#o.home).lock}: ${why}; retrying every ${this.tickMs / 1000} s`,
        );
      }
      if (this.#role === "idle") this.#standBy(null);
    } finally {
      this.#acquiring = false;
    }
  }

  #standBy(holderPid: number | null): void {
    const first = this.#role === "idle";
    this.#role = "standby";
    this.#reportedHolder = holderPid;
    const holder = readSchedulerHolder(this.#o.home);
    const who = holder
      ? `${holder.kind} pid ${holder.pid}`
      : holderPid
        ? `pid ${holderPid}`
        : "another process";
    this.#o.log.info(
      "cron.standby",
      `${first ? "standing by" : "still standing by"}: the scheduler lock is held by ${who}; this ${this.#o.kind} takes over if it dies`,
      { holder_pid: holder?.pid ?? holderPid },
    );
    if (first) this.#o.changed?.();
  }

  #becomeHolder(holder: LockHolder): void {
    const took = this.#role === "standby";
    this.#role = "holder";
    this.#holder = holder;
    this.#o.log.info(
      "cron.holder",
      took
        ? `took over the scheduler: the previous holder is gone; this ${holder.kind} (pid ${holder.pid}) fires jobs now`
        : `this ${holder.kind} (pid ${holder.pid}) holds the scheduler lock and fires jobs`,
      { kind: holder.kind },
    );
    // The previous holder's state, as it left it (it may have died at any instant).
    this.#state = readStateFile(this.#o.home);
    const now = Date.now();
    this.#recoverInterrupted();
    const starts: [Entry, number][] = [];
    for (const e of this.#entries.values()) this.#initEntry(e, now, starts);
    this.#syncPaused(now, true);
    this.#commit(starts);
    // What the previous holder left undelivered is taken over first; then its pending deliveries are followed.
    void (this.#o.sink.held?.() ?? Promise.resolve())
      .catch((error: unknown) =>
        this.#o.log.error(
          "cron.spool",
          `cannot take over the spooled results: ${error instanceof Error ? error.message : String(error)}`,
        ),
      )
      .finally(() => this.#followPending());
    this.#arm();
    this.#o.changed?.();
  }

  /**
   * Writes the state, then starts the runs it records as started. When the state cannot be written nothing
   * starts: a run whose slot is not on disk could run twice after a crash. Those slots are recorded as errors.
   */
  #commit(starts: [Entry, number | string][]): boolean {
    try {
      this.#writeState();
    } catch (error) {
      const why = `not started: ${cronPaths(this.#o.home).state} cannot be written (${error instanceof Error ? error.message : String(error)})`;
      for (const [e, slot] of starts) {
        Object.assign(this.#stateOf(e.job.id), { running: null, last_status: "error", last_error: why });
        e.queue = [];
        this.#o.log.error(
          "cron.failed",
          `job ${e.job.id}: slot ${typeof slot === "number" ? iso(slot) : slot} ${why}`,
          {
            job: e.job.id,
          },
        );
      }
      return false;
    }
    for (const [e, slot] of starts)
      this.#launch(e, typeof slot === "number" ? new Date(slot).toISOString() : slot, false);
    return true;
  }

  /** Runs that were `running` when their scheduler died: recorded as interrupted errors, never run again. */
  #recoverInterrupted(): void {
    for (const [id, s] of Object.entries(this.#state.jobs)) {
      if (!s.running) continue;
      const { slot, pid, started_at } = s.running;
      const killed = killLeftovers(id, slot);
      const error = `interrupted: the scheduler (pid ${pid}) stopped while this run was in progress (slot ${slot}, started ${started_at}); it is not run again${killed ? `; ${killed} process(es) it left were ended` : ""}`;
      Object.assign(s, {
        running: null,
        last_status: "error",
        last_error: error,
        last_delivery_status: "none",
      });
      this.#o.log.error("cron.interrupted", `job ${id}: ${error}`, { job: id, slot });
      this.#o.metrics.inc("hermes_cron_runs_total", "Job runs by outcome", { job: id, status: "error" });
      const entry = this.#entries.get(id);
      if (entry)
        void this.#notifyFailure(
          entry.job,
          `cron:${id}:${slot}:error`,
          `⚠️ Job ${id} was interrupted: ${error}`,
        );
    }
  }

  /** A job's cursor and next slot when this process becomes the holder, or when the job first appears. */
  #initEntry(e: Entry, now: number, starts: [Entry, number][]): void {
    e.queue = [];
    const s = this.#state.jobs[e.job.id];
    if (!e.slots || e.invalid) {
      e.next = null;
      e.cursor = now;
      return;
    }
    if (!e.job.enabled) {
      e.cursor = now;
      e.next = null;
      return;
    }
    let after: number;
    if (s?.last_slot) after = Date.parse(s.last_slot);
    else if (e.slots.kind === "once") after = Number.NEGATIVE_INFINITY;
    else {
      // First sight: slots before now are not missed, they predate the job. The latest is recorded, so that a
      // scheduler that dies before the first slot still counts what it missed.
      const state = this.#stateOf(e.job.id);
      const previous = e.slots.previous(now);
      state.last_slot = iso(previous);
      e.cursor = previous ?? now;
      e.next = e.slots.next(Math.max(e.cursor, now));
      return;
    }
    const plan = planCatchup(e.slots, after, now, e.job.catchup);
    e.cursor = Math.max(after, plan.to ?? after);
    if (plan.to !== null) this.#applyPlan(e, plan, "while no scheduler was running", starts);
    e.next = e.slots.next(Math.max(e.cursor, now));
  }

  /** Slots that passed without a run: in the job's state (`missed_runs`) and in /metrics. */
  #countMissed(id: string, state: { missed_runs: number }, count: number): void {
    state.missed_runs += count;
    this.#o.metrics.inc(
      "hermes_cron_missed_runs_total",
      "Slots that passed without a run",
      { job: id },
      count,
    );
  }

  /** Counts and logs a plan's missed slots; marks the first slot to run and queues the rest. */
  #applyPlan(e: Entry, plan: ReturnType<typeof planCatchup>, why: string, starts: [Entry, number][]): void {
    const state = this.#stateOf(e.job.id);
    const due = plan.run.length + plan.missed;
    if (plan.missed > 0) this.#countMissed(e.job.id, state, plan.missed);
    const span = plan.from === plan.to ? iso(plan.to) : `${iso(plan.from)} … ${iso(plan.to)}`;
    this.#o.log.warn(
      "cron.missed",
      `job ${e.job.id}: ${plan.exact ? "" : "about "}${due} slot${due === 1 ? "" : "s"} came due ${why} (${span}); catchup ${e.job.catchup}: ${plan.run.length} run now, ${plan.exact ? "" : "about "}${plan.missed} missed (missed_runs ${state.missed_runs})`,
      { job: e.job.id, missed: plan.missed, catchup: e.job.catchup, run: plan.run.length },
    );
    if (plan.run.length === 0) {
      if (plan.to !== null) state.last_slot = iso(Math.max(plan.to, parseOr(state.last_slot)));
      return;
    }
    const [first, ...rest] = plan.run;
    this.#mark(e, new Date(first!).toISOString(), false);
    e.queue.push(...rest);
    starts.push([e, first!]);
  }

  // ----- jobs ---------------------------------------------------------------------------------------------------

  #setJobs(): void {
    const merged = mergeJobs(this.#configJobs, this.#watcher.jobs, cronPaths(this.#o.home).jobs);
    for (const line of merged.shadowed) this.#o.log.warn("cron.jobs", line);
    const now = Date.now();
    const holding = this.#role === "holder";
    const starts: [Entry, number][] = [];
    const seen = new Set<string>();
    let changed = merged.jobs.length !== this.#entries.size;
    for (const job of merged.jobs) {
      seen.add(job.id);
      const old = this.#entries.get(job.id);
      if (old && JSON.stringify(old.job) === JSON.stringify(job)) {
        old.removed = false;
        continue;
      }
      changed = true;
      const { slots, invalid } = compile(job);
      if (invalid)
        this.#o.log.error(
          "cron.job_invalid",
          `job ${job.id} (${job.source}) cannot be scheduled: ${invalid}`,
          {
            job: job.id,
          },
        );
      const entry: Entry = old ?? {
        job,
        slots,
        invalid,
        cursor: now,
        next: null,
        run: null,
        queue: [],
        removed: false,
      };
      Object.assign(entry, { job, slots, invalid, removed: false });
      this.#entries.set(job.id, entry);
      if (!holding) continue;
      if (old && slots && !invalid && !old.run) {
        // Changed, resumed or fixed while this scheduler runs: slots before now were not missed, they
        // belonged to another definition (or to a pause).
        const previous = slots.previous(now);
        const state = this.#stateOf(job.id);
        if (previous !== null) state.last_slot = iso(Math.max(previous, parseOr(state.last_slot)));
      }
      if (!entry.run) this.#initEntry(entry, now, starts);
      else entry.next = entry.slots?.next(Math.max(entry.cursor, now)) ?? null;
    }
    for (const [id, e] of this.#entries) {
      if (seen.has(id)) continue;
      changed = true;
      if (e.run) {
        e.removed = true;
        e.next = null;
        e.queue = [];
        continue;
      }
      this.#entries.delete(id);
      if (holding) delete this.#state.jobs[id];
    }
    if (!changed) return;
    if (holding) {
      this.#commit(starts);
      this.#arm();
    }
    this.#o.changed?.();
  }

  #stateOf(id: string): JobState {
    let s = this.#state.jobs[id];
    if (!s) {
      s = emptyJobState();
      this.#state.jobs[id] = s;
    }
    return s;
  }

  // ----- ticking and firing ---------------------------------------------------------------------------------------

  #tick(): void {
    try {
      this.#tickOnce();
    } catch (error) {
      // A bug here must not take the gateway down with it: logged, and the next tick tries again.
      this.#o.log.error(
        "cron.tick",
        `the scheduler's tick failed: ${error instanceof Error ? error.stack : String(error)}`,
      );
    }
  }

  #tickOnce(): void {
    const now = Date.now();
    this.#lastTickAt = now;
    const { metrics } = this.#o;
    metrics.inc("hermes_cron_ticks_total", "Scheduler heartbeat ticks");
    metrics.set(
      "hermes_cron_last_tick_timestamp_seconds",
      "When the scheduler last ticked (unix seconds)",
      {},
      now / 1000,
    );
    if (this.#role === "standby") {
      void this.#tryLock();
      return;
    }
    if (this.#role !== "holder") return;
    if (now - this.#pausedSyncAt >= PAUSED_SYNC_MS) {
      if (this.#syncPaused(now)) this.#persistSoon();
    }
    // A timer that fired late (a busy loop, a clock stepped forward) is caught up here.
    for (const e of this.#entries.values())
      if (e.next !== null && e.next <= now) {
        this.#fire();
        return;
      }
  }

  /** Arms the one timer for the earliest next slot. */
  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#role !== "holder") return;
    let next: number | null = null;
    for (const e of this.#entries.values())
      if (e.next !== null && (next === null || e.next < next)) next = e.next;
    if (next === null) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, next - Date.now()));
    this.#timer = setTimeout(() => {
      try {
        this.#fire();
      } catch (error) {
        // The heartbeat tick tries again within a second.
        this.#o.log.error(
          "cron.tick",
          `firing failed: ${error instanceof Error ? error.stack : String(error)}`,
        );
      }
    }, delay);
  }

  /** Starts every job whose slot is due (one state write for the whole batch, before any action starts). */
  #fire(): void {
    if (this.#role !== "holder") return;
    const now = Date.now();
    const starts: [Entry, number][] = [];
    let dirty = false;
    for (const e of this.#entries.values()) {
      if (e.next === null || e.next > now || !e.slots) continue;
      dirty = true;
      const due = slotsIn(e.slots, e.cursor, now, 1);
      const latest = due.latest[0] ?? e.next;
      const state = this.#stateOf(e.job.id);
      if (e.run) {
        // A job never overlaps itself: what comes due while it runs is missed.
        this.#countMissed(e.job.id, state, due.count);
        this.#o.log.warn(
          "cron.missed",
          `job ${e.job.id}: slot ${iso(latest)}${due.count > 1 ? ` (and ${due.count - 1} before it)` : ""} missed: the run of ${e.run.slot} is still going (missed_runs ${state.missed_runs})`,
          { job: e.job.id, slot: iso(latest), missed: due.count },
        );
        if (e.queue.length === 0) state.last_slot = iso(Math.max(latest, parseOr(state.last_slot)));
      } else if (due.count === 1 && now - latest <= LATE_MS) {
        this.#mark(e, new Date(latest).toISOString(), false);
        starts.push([e, latest]);
      } else if (due.count > 0) {
        const plan = planCatchup(e.slots, e.cursor, now, e.job.catchup);
        this.#applyPlan(
          e,
          plan,
          "while this scheduler could not fire (a stalled loop, a sleeping machine or a clock step)",
          starts,
        );
      }
      e.cursor = Math.max(e.cursor, latest);
      e.next = e.slots.next(Math.max(e.cursor, now));
    }
    if (dirty) this.#commit(starts);
    this.#arm();
  }

  // ----- runs -----------------------------------------------------------------------------------------------------

  /** Records a run as started (in memory; the caller writes the state before launching it). */
  #mark(e: Entry, slot: string, manual: boolean): void {
    const s = this.#stateOf(e.job.id);
    const now = new Date().toISOString();
    s.running = { slot, started_at: now, pid: process.pid };
    s.last_status = "running";
    s.last_run_at = now;
    s.last_run_slot = slot;
    if (!manual) {
      s.last_slot = slot;
      e.cursor = Math.max(e.cursor, Date.parse(slot));
    }
  }

  #launch(e: Entry, slot: string, manual: boolean): Run {
    const controller = new AbortController();
    const started = Date.now();
    const job = e.job;
    // started_at: the moment the action starts (the benchmark's firing delay is it minus the slot).
    this.#o.log.info("cron.run", `job ${job.id}: started (${manual ? "run by hand" : `slot ${slot}`})`, {
      job: job.id,
      slot,
      started_at: new Date(started).toISOString(),
    });
    const run: Run = {
      slot,
      manual,
      controller,
      done: runAction(job, {
        slot,
        home: this.#o.home,
        env: this.#o.env(),
        agent: this.#o.agent,
        signal: controller.signal,
      })
        .catch(
          (error: unknown): ActionResult => ({
            status: "error",
            output: "",
            error: error instanceof Error ? error.message : String(error),
          }),
        )
        .then((result) => this.#finish(e, run, result, started)),
    };
    e.run = run;
    return run;
  }

  async #finish(e: Entry, run: Run, result: ActionResult, started: number): Promise<RunResult> {
    const job = e.job;
    const { log, metrics } = this.#o;
    const duration = Date.now() - started;
    metrics.inc("hermes_cron_runs_total", "Job runs by outcome", { job: job.id, status: result.status });
    let delivery: RunResult["delivery"] = "none";
    const output = result.output.trim() === "" ? "" : result.output;
    if (result.status === "ok") {
      log.info(
        "cron.done",
        `job ${job.id}: ok in ${duration} ms${output ? "" : " (no output: nothing to deliver)"}`,
        {
          job: job.id,
          slot: run.slot,
          duration_ms: duration,
        },
      );
      if (output && job.deliver.length > 0) {
        const messages = job.deliver.map((target, n) => ({
          id: `cron:${job.id}:${run.slot}:${n}`,
          target,
          text: output,
          failureTargets: job.failure_deliver,
        }));
        delivery = "pending";
        try {
          const refused = await this.#o.sink.deliver(messages);
          if (refused.length > 0) delivery = "failed";
          for (const r of refused) {
            log.error("cron.delivery", `job ${job.id}: its result cannot go to ${r.target}: ${r.error}`, {
              job: job.id,
              target: r.target,
            });
            void this.#notifyFailure(
              job,
              `${r.id}:failed`,
              `⚠️ Job ${job.id} could not deliver its result to ${r.target}: ${r.error}`,
            );
          }
        } catch (error) {
          delivery = "failed";
          log.error(
            "cron.delivery",
            `job ${job.id}: its result could not be queued for delivery: ${error instanceof Error ? error.message : String(error)}`,
            { job: job.id },
          );
        }
      }
    } else {
      log.error(
        "cron.failed",
        `job ${job.id} ${result.status === "timeout" ? "timed out" : "failed"}: ${result.error}`,
        {
          job: job.id,
          slot: run.slot,
          status: result.status,
          error: result.error,
        },
      );
      void this.#notifyFailure(
        job,
        `cron:${job.id}:${run.slot}:error`,
        result.status === "timeout"
          ? `⚠️ Job ${job.id} timed out: ${result.error}`
          : `⚠️ Job ${job.id} failed: ${result.error}`,
      );
    }
    const state = this.#stateOf(job.id);
    Object.assign(state, {
      running: null,
      last_status: result.status,
      last_error: result.status === "ok" ? null : result.error,
      last_delivery_status: delivery === "pending" ? "pending" : delivery,
    });
    if (delivery === "pending")
      this.#o.sink.follow(job.id, run.slot, (outcome) => this.#settled(job.id, run.slot, outcome));
    e.run = null;
    if (e.removed) {
      this.#entries.delete(job.id);
      delete this.#state.jobs[job.id];
    }
    const answer: RunResult = {
      id: job.id,
      status: result.status,
      output: result.output,
      error: result.status === "ok" ? null : result.error,
      delivery,
      duration_ms: duration,
    };
    const next = e.queue.shift();
    if (next !== undefined && this.#role === "holder" && !e.removed) {
      this.#mark(e, new Date(next).toISOString(), false);
      this.#commit([[e, next]]);
    } else if (run.manual) {
      // `hermes cron run` prints the result once it is recorded.
      try {
        this.#writeState();
      } catch {
        // logged; the next write tries again
      }
    } else this.#persistSoon();
    return answer;
  }

  /** What became of a run's result messages, once the outbox knows. */
  #settled(id: string, slot: string, outcome: "delivered" | "failed"): void {
    const s = this.#state.jobs[id];
    if (!s || s.last_run_slot !== slot || s.last_delivery_status !== "pending") return;
    s.last_delivery_status = outcome;
    if (this.#role === "holder") this.#persistSoon();
  }

  /** A short notice to the job's failure_deliver targets (they carry no failure targets themselves). */
  async #notifyFailure(job: JobConfig, idPrefix: string, text: string): Promise<void> {
    if (job.failure_deliver.length === 0) return;
    const messages = job.failure_deliver.map((target, n) => ({
      id: `${idPrefix}:${n}`,
      target,
      text,
      failureTargets: [],
    }));
    try {
      const refused = await this.#o.sink.deliver(messages);
      for (const r of refused)
        this.#o.log.error(
          "cron.delivery",
          `job ${job.id}: a failure notice cannot go to ${r.target}: ${r.error}`,
          {
            job: job.id,
            target: r.target,
          },
        );
    } catch (error) {
      this.#o.log.error(
        "cron.delivery",
        `job ${job.id}: a failure notice could not be queued: ${error instanceof Error ? error.message : String(error)}`,
        { job: job.id },
      );
    }
  }

  /** On taking over, deliveries the previous holder left pending are followed again. */
  #followPending(): void {
    for (const [id, s] of Object.entries(this.#state.jobs))
      if (s.last_delivery_status === "pending" && s.last_run_slot) {
        const slot = s.last_run_slot;
        this.#o.sink.follow(id, slot, (outcome) => this.#settled(id, slot, outcome));
      }
  }

  // ----- state --------------------------------------------------------------------------------------------------

  /** Paused jobs' passed slots are marked as passed (never missed). Returns whether anything changed. */
  #syncPaused(now: number, force = false): boolean {
    if (!force && now - this.#pausedSyncAt < PAUSED_SYNC_MS) return false;
    this.#pausedSyncAt = now;
    let changed = false;
    for (const e of this.#entries.values()) {
      if (e.job.enabled || !e.slots || e.slots.kind === "once") continue;
      const previous = e.slots.previous(now);
      const s = this.#stateOf(e.job.id);
      if (previous !== null && previous > parseOr(s.last_slot)) {
        s.last_slot = iso(previous);
        changed = true;
      }
    }
    return changed;
  }

  /** Writes cron/state.json now, atomically (before an action starts; a crash after this cannot re-run it). */
  #writeState(): void {
    clearTimeout(this.#persistTimer);
    this.#persistTimer = undefined;
    for (const e of this.#entries.values()) {
      const s = this.#state.jobs[e.job.id];
      if (s) s.next_run_at = e.job.enabled && !e.invalid ? iso(e.next) : null;
    }
    try {
      writeStateFile(this.#o.home, this.#state);
    } catch (error) {
      this.#o.log.error(
        "cron.state",
        `cannot write ${cronPaths(this.#o.home).state}: ${error instanceof Error ? error.message : String(error)}`,
      );
      throw error;
    }
  }

  /** Outcomes are written soon after, together (a crash meanwhile records the run as interrupted). */
  #persistSoon(): void {
    if (this.#persistTimer || this.#role === "stopped") return;
    this.#persistTimer = setTimeout(() => {
      this.#persistTimer = undefined;
      try {
        this.#writeState();
      } catch {
        // logged; the next write tries again
      }
    }, 20);
  }
}

function compile(job: Job): { slots: Slots | null; invalid: string | null } {
  if (job.timezone !== undefined && !isValidTimeZone(job.timezone))
    return { slots: null, invalid: `time zone "${job.timezone}" is not an IANA time zone name` };
  const action = actionOf(job);
  if (typeof action === "object") return { slots: null, invalid: action.invalid };
  const compiled = compileSchedule(job.schedule, job.timezone);
  if (!compiled.ok) return { slots: null, invalid: `schedule "${job.schedule}": ${compiled.reason}` };
  return { slots: compiled.slots, invalid: null };
}

function parseOr(text: string | null | undefined): number {
  return text ? Date.parse(text) : Number.NEGATIVE_INFINITY;
}
