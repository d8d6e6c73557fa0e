/**
 * The shapes of the scheduler's files, shared by the scheduler (which writes `cron/state.json`) and the CLI
 * (which writes `cron/jobs.json` and reads both).
 */
import type { Job as JobConfig } from "../config/schema.ts";
import { localZone } from "./zone.ts";

export type { JobConfig };

/** Where a job is defined: `cron.jobs` in config.yaml, or `hermes cron add` (cron/jobs.json). */
export type JobSource = "config" | "cli";

export type Job = JobConfig & { source: JobSource };

/** How a job's last run ended (`running` while it runs; `missed` when its slot was skipped by `catchup`). */
export type RunStatus = "ok" | "error" | "timeout" | "running" | "missed";

/** What became of the last run's result: queued in the outbox, delivered, or failed (sent to failure_deliver). */
export type DeliveryStatus = "none" | "pending" | "delivered" | "failed";

/** Run state of one job, in `cron/state.json`. Times are ISO 8601 strings in UTC. */
export interface JobState {
  next_run_at: string | null;
  last_run_at: string | null;
  last_status: RunStatus | null;
  last_error: string | null;
  last_delivery_status: DeliveryStatus | null;
  /** Slots that passed without a run (scheduler down, or the job still running), since the job was added. */
  missed_runs: number;
  /**
   * The latest slot dealt with: started, or counted in `missed_runs` (or passed while the job was paused). No
   * slot at or before it is started again, across restarts and kill -9; slots after it and before now are the
   * missed ones `catchup` decides about.
   */
  last_slot: string | null;
  /**
   * The slot of the last run (`manual-<time>` for a run asked for by hand): its result messages have the ids
   * `cron:<id>:<last_run_slot>:<n>`, which `last_delivery_status` follows.
   */
  last_run_slot?: string | null;
  /** Set (and written) before the action starts, cleared when it ends. */
  running: { slot: string; started_at: string; pid: number } | null;
}

export interface CronStateFile {
  version: 1;
  jobs: Record<string, JobState>;
}

/** `cron/jobs.json`: the jobs `hermes cron add` manages. */
export interface JobsFile {
  version: 1;
  jobs: JobConfig[];
}

export function emptyJobState(): JobState {
  return {
    next_run_at: null,
    last_run_at: null,
    last_status: null,
    last_error: null,
    last_delivery_status: null,
    missed_runs: 0,
    last_slot: null,
    running: null,
  };
}

// ----- the scheduler's control-socket API (SPEC §7), spoken by the scheduler and read by `hermes cron` ---------

/** Who may hold the scheduler lock: the gateway, or `hermes cron serve`. */
export type SchedulerKind = "gateway" | "cron-serve";

/** The holder of the scheduler lock, as `run/cron.lock` names it. */
export interface LockHolder {
  pid: number;
  kind: SchedulerKind;
  /** ISO time the lock was taken. */
  since: string;
}

/** A `hermes cron list --json` entry: exactly SPEC §7's keys. */
export interface ListEntry {
  id: string;
  schedule: string;
  /** The job's zone, or the machine's when it has none. */
  timezone: string;
  enabled: boolean;
  next_run_at: string | null;
  last_run_at: string | null;
  last_status: RunStatus | null;
  last_error: string | null;
  last_delivery_status: DeliveryStatus | null;
  missed_runs: number;
  source: JobSource;
}

/** The keys of a list entry, in SPEC §7's order. */
export const LIST_KEYS = [
  "id",
  "schedule",
  "timezone",
  "enabled",
  "next_run_at",
  "last_run_at",
  "last_status",
  "last_error",
  "last_delivery_status",
  "missed_runs",
  "source",
] as const satisfies readonly (keyof ListEntry)[];

/** `GET /admin/cron`: a scheduler candidate's view (a standby's `alive` is false; `holder` from the lock file). */
export interface CronView {
  holder: LockHolder | null;
  alive: boolean;
  last_tick_at: string | null;
  jobs: ListEntry[];
}

/** `POST /admin/cron/run`'s answer, and what `hermes cron run --json` prints. */
export interface RunResult {
  id: string;
  status: "ok" | "error" | "timeout";
  output: string;
  error: string | null;
  delivery: "pending" | "none" | "failed";
  duration_ms: number;
}

/**
 * A job's list entry from its run state, as the scheduler reports it and as `hermes cron list` computes it when
 * no scheduler answers: `next` is its next slot (ms), `invalid` why it cannot be scheduled (then it has none).
 */
export function listEntry(
  job: Job,
  state: JobState | undefined,
  next: number | null,
  invalid: string | null,
): ListEntry {
  const s = state ?? emptyJobState();
  return {
    id: job.id,
    schedule: job.schedule,
    timezone: job.timezone ?? localZone(),
    enabled: job.enabled,
    next_run_at: job.enabled && !invalid && next !== null ? new Date(next).toISOString() : null,
    last_run_at: s.last_run_at,
    last_status: s.last_status,
    last_error: invalid ? `cannot be scheduled: ${invalid}` : s.last_error,
    last_delivery_status: s.last_delivery_status,
    missed_runs: s.missed_runs,
    source: job.source,
  };
}
