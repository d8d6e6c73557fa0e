/**
 * Talking to the scheduler of a home from the CLI: `GET /admin/cron` and `POST /admin/cron/run` on the
 * control socket of the gateway (`run/gateway.sock`) or of `hermes cron serve` (`run/cron.sock`), and the
 * scheduler lock's file (`run/cron.lock`), which names its holder.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { controlRequest, isAlive, socketFor } from "../gateway/control.ts";
import { cronPaths } from "./files.ts";
import type { DeliveryStatus, JobSource, RunStatus } from "./types.ts";

export type HolderKind = "gateway" | "cron-serve";

export interface Holder {
  pid: number;
  /** `unknown` for a lock file that does not say. */
  kind: HolderKind | "unknown";
  /** ISO time the lock was taken ("" when the file does not say). */
  since: string;
}

/** A `cron list --json` entry: exactly SPEC §7's keys. */
export interface ListEntry {
  id: string;
  schedule: string;
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

/** What a scheduler candidate answers on `GET /admin/cron`. */
export interface SchedulerView {
  holder: Holder | null;
  /** This process is the scheduler and ticks (false: it stands by). */
  alive: boolean;
  last_tick_at: string | null;
  jobs: ListEntry[];
}

/** What `POST /admin/cron/run` answers, and what `cron run` prints with `--json` in either case. */
export interface RunResult {
  id: string;
  status: "ok" | "error" | "timeout";
  output: string;
  error: string | null;
  delivery: "pending" | "none" | "failed";
  duration_ms: number;
}

export interface Answer {
  socket: string;
  view: SchedulerView;
}

/** The control sockets a scheduler may answer on: the gateway's (wherever it put it), then `cron serve`'s. */
export function schedulerSockets(home: string): string[] {
  return [socketFor(home), join(home, "run", "cron.sock")];
}

/**
 * Asks every candidate at once. `live` is the one that fires (there is at most one); `answers` are all that
 * answered, standbys included. A process that answers without the cron API (a gateway without a scheduler)
 * counts as not answering.
 */
export async function askScheduler(
  home: string,
  timeoutMs = 2000,
): Promise<{ live: Answer | undefined; answers: Answer[] }> {
  const settled = await Promise.allSettled(
    schedulerSockets(home).map(async (socket) => {
      const response = await controlRequest(socket, "GET", "/admin/cron", timeoutMs);
      const body = response.body as Partial<SchedulerView> | undefined;
      if (response.status !== 200 || typeof body?.alive !== "boolean" || !Array.isArray(body.jobs))
        throw new Error(`${socket} does not answer GET /admin/cron`);
      return { socket, view: body as SchedulerView };
    }),
  );
  const answers = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  return { live: answers.find((a) => a.view.alive), answers };
}

/** Asks the scheduler on `socket` to run a job now; the wait covers the job's own timeout. */
export async function runThrough(
  socket: string,
  id: string,
  jobTimeoutMs: number,
): Promise<{ status: number; body: unknown }> {
  return controlRequest(socket, "POST", "/admin/cron/run", jobTimeoutMs + 30_000, { id });
}

/**
 * The holder named by `run/cron.lock` and whether that process lives. The file is `{"pid","kind","since"}`;
 * a lock written the gateway lock's way (`pid start kind`) is read too.
 */
export function readLockHolder(home: string): (Holder & { running: boolean }) | undefined {
  let text: string;
  try {
    text = readFileSync(cronPaths(home).lock, "utf8").trim();
  } catch {
    return undefined;
  }
  let holder: Holder | undefined;
  try {
    const data = JSON.parse(text) as Partial<Holder>;
    if (Number.isInteger(data.pid) && (data.pid as number) > 0)
      holder = {
        pid: data.pid as number,
        kind: data.kind === "gateway" || data.kind === "cron-serve" ? data.kind : "unknown",
        since: typeof data.since === "string" ? data.since : "",
      };
  } catch {
    const pid = Number.parseInt(text.split(/\s+/)[0] ?? "", 10);
    if (Number.isInteger(pid) && pid > 0) holder = { pid, kind: "unknown", since: "" };
  }
  return holder && { ...holder, running: isAlive(holder.pid) };
}

export function describeHolder(holder: Pick<Holder, "kind" | "pid">): string {
  const what = { gateway: "the gateway", "cron-serve": "hermes cron serve", unknown: "a scheduler" }[
    holder.kind
  ];
  return `${what} (pid ${holder.pid})`;
}
