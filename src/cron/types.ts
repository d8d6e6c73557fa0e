/**
 * The shapes of the scheduler's files, shared by the scheduler (which writes `cron/state.json`) and the CLI
 * (which writes `cron/jobs.json` and reads both).
 */
import type { Job as JobConfig } from "../config/schema.ts";

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
