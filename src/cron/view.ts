/**
 * What `hermes cron list` shows: a job's entry (SPEC §7's keys) computed from its schedule and run state when
 * no scheduler answers, and the human renderings (table, next-run previews) with times in each job's zone.
 */
import { stripAnsi } from "../cli/output.ts";
import type { Colors } from "../lint/format/human.ts";
import { LIST_KEYS, type ListEntry } from "./client.ts";
import { formatInZone, localTimeZone, nextRuns } from "./next.ts";
import { isValidTimeZone } from "./schedule.ts";
import type { Job, JobConfig, JobState } from "./types.ts";

/** A job's entry as the scheduler would report it; `problem` says why it has no next run when it should. */
export function entryOf(
  job: Job,
  state: JobState | undefined,
  now: Date,
): { entry: ListEntry; problem?: string } {
  const timezone = job.timezone ?? localTimeZone();
  let next: string | null = null;
  let problem: string | undefined;
  if (job.enabled) {
    const runs = nextRuns(job.schedule, {
      timezone,
      after: now,
      lastSlot: state?.last_slot ? new Date(state.last_slot) : null,
    });
    if (runs.ok) next = runs.runs[0]?.toISOString() ?? null;
    else problem = runs.reason;
  }
  return {
    entry: {
      id: job.id,
      schedule: job.schedule,
      timezone,
      enabled: job.enabled,
      next_run_at: next,
      last_run_at: state?.last_run_at ?? null,
      last_status: state?.last_status ?? null,
      last_error: state?.last_error ?? null,
      last_delivery_status: state?.last_delivery_status ?? null,
      missed_runs: state?.missed_runs ?? 0,
      source: job.source,
    },
    ...(problem === undefined ? {} : { problem }),
  };
}

/** Exactly the contract's keys, in its order, whatever else a scheduler's answer carries. */
export function pickEntry(raw: ListEntry): ListEntry {
  return Object.fromEntries(
    LIST_KEYS.map((k) => [k, raw[k] ?? (k === "missed_runs" ? 0 : null)]),
  ) as unknown as ListEntry;
}

/** One line of an error, cut to `max` characters. */
export function shorten(text: string, max = 40): string {
  const line = text.split("\n").find((l) => l.trim() !== "") ?? "";
  const trimmed = line.trim();
  return trimmed.length > max ? `${trimmed.slice(0, max - 1).trimEnd()}…` : trimmed;
}

/** A time in the job's zone; in UTC (and saying so) when the zone is not one. */
function when(iso: string | null, zone: string, showZone: boolean): string {
  if (iso === null) return "-";
  if (!isValidTimeZone(zone)) return formatInZone(new Date(iso), "UTC", { showZone: true });
  return formatInZone(new Date(iso), zone, { showZone });
}

/**
 * The table of `cron list`. Times are in each job's zone: the next run with the zone's name, the last run
 * in the same zone. `invalid` holds why a job has no next run (its schedule or zone cannot be used).
 */
export function formatTable(
  entries: readonly ListEntry[],
  c: Colors,
  invalid: ReadonlyMap<string, string>,
): string {
  const header = [
    "ID",
    "SCHEDULE",
    "NEXT RUN",
    "LAST RUN",
    "STATUS",
    "ERROR",
    "DELIVERY",
    "MISSED",
    "SOURCE",
  ];
  const rows = entries.map((e) => {
    const next = !e.enabled
      ? c.yellow("paused")
      : invalid.has(e.id)
        ? c.red("cannot run (below)")
        : e.next_run_at === null
          ? "none"
          : when(e.next_run_at, e.timezone, true);
    const status =
      e.last_status === "ok" ? e.last_status : e.last_status === null ? "-" : c.red(e.last_status);
    return [
      e.enabled ? e.id : `${e.id} ${c.yellow("(paused)")}`,
      e.schedule,
      next,
      when(e.last_run_at, e.timezone, false),
      status,
      e.last_error ? shorten(e.last_error) : "-",
      e.last_delivery_status === "failed" ? c.red("failed") : (e.last_delivery_status ?? "-"),
      e.missed_runs > 0 ? c.yellow(String(e.missed_runs)) : "0",
      e.source,
    ];
  });
  return table([header.map((h) => c.bold(h)), ...rows]);
}

/** Left-aligned columns two spaces apart; widths ignore colour codes. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => stripAnsi(r[i]!).length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) =>
          i === r.length - 1 ? cell : cell + " ".repeat(widths[i]! - stripAnsi(cell).length),
        )
        .join("  ")
        .trimEnd(),
    )
    .join("\n")
    .concat("\n");
}

/** `next runs: 2026-12-02 03:00, 2026-12-03 03:00, 2026-12-04 03:00 Europe/Berlin`, or why there are none. */
export function previewRuns(
  job: Pick<JobConfig, "schedule" | "timezone" | "enabled">,
  now: Date,
  count = 3,
): string {
  const zone = job.timezone ?? localTimeZone();
  const runs = nextRuns(job.schedule, { timezone: zone, after: now, count });
  if (!runs.ok) return `cannot run: ${runs.reason}`;
  if (runs.runs.length === 0) return "no next run: its time has passed";
  const list = runs.runs.map((d) => formatInZone(d, zone)).join(", ");
  const zoneNote = job.timezone === undefined ? `${zone}, the machine's zone` : zone;
  return `${runs.runs.length === 1 ? "next run" : `next ${runs.runs.length} runs`}: ${list} (${zoneNote})${job.enabled ? "" : "; paused"}`;
}

/** The `--explain invalid-cron|timezone-invalid` appendix: every job of the home with its next runs. */
export function formatPreview(
  jobs: readonly Job[],
  now: Date,
  where: string,
  problems: readonly string[],
): string {
  const lines = ["", `## Your jobs (${where})`, ""];
  for (const problem of problems) lines.push(`- ${problem}`);
  if (jobs.length === 0 && problems.length === 0) lines.push("No jobs are defined.");
  for (const job of jobs) {
    lines.push(
      `- \`${job.id}\` (${job.source === "cli" ? "cron/jobs.json" : "config.yaml"}): "${job.schedule}"${job.timezone ? ` in ${job.timezone}` : ""}`,
      `  ${previewRuns(job, now)}`,
    );
  }
  return `${lines.join("\n")}\n`;
}
