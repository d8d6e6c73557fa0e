/**
 * What `hermes cron list` shows: a job's entry (SPEC §7's keys) computed from its schedule and run state when
 * no scheduler answers, and the human renderings (table, next-run previews) with times in each job's zone.
 */
import { stripAnsi } from "../cli/output.ts";
import type { Colors } from "../lint/format/human.ts";
import { compileSchedule, nextSlot, upcoming } from "./slots.ts";
import { type Job, type JobConfig, type JobState, LIST_KEYS, type ListEntry, listEntry } from "./types.ts";
import { formatInZone, localZone } from "./zone.ts";

/**
 * A job's entry as the scheduler would report it (the same slots: slots.ts), from its schedule and run state;
 * `problem` says why it has no next run when it should.
 */
export function entryOf(
  job: Job,
  state: JobState | undefined,
  now: Date,
): { entry: ListEntry; problem?: string } {
  if (!job.enabled) return { entry: listEntry(job, state, null, null) };
  const compiled = compileSchedule(job.schedule, job.timezone);
  if (!compiled.ok) return { entry: listEntry(job, state, null, compiled.reason), problem: compiled.reason };
  const lastSlot = state?.last_slot ? Date.parse(state.last_slot) : null;
  return { entry: listEntry(job, state, nextSlot(compiled.slots, lastSlot, now.getTime()), null) };
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
  return iso === null ? "-" : formatInZone(new Date(iso), zone, { showZone });
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
  const zone = job.timezone ?? localZone();
  const runs = nextRuns(job, now, count);
  if (!runs.ok) return `cannot run: ${runs.reason}`;
  if (runs.runs.length === 0) return "no next run: its time has passed";
  const list = runs.runs.map((d) => formatInZone(d, zone)).join(", ");
  const zoneNote = job.timezone === undefined ? `${zone}, the machine's zone` : zone;
  return `${runs.runs.length === 1 ? "next run" : `next ${runs.runs.length} runs`}: ${list} (${zoneNote})${job.enabled ? "" : "; paused"}`;
}

/** The next `count` runs of a job after `now` (its slots: slots.ts), or why it has none. */
export function nextRuns(
  job: Pick<JobConfig, "schedule" | "timezone">,
  now: Date,
  count: number,
): { ok: true; runs: Date[] } | { ok: false; reason: string } {
  const compiled = compileSchedule(job.schedule, job.timezone);
  if (!compiled.ok) return compiled;
  return { ok: true, runs: upcoming(compiled.slots, now.getTime(), count).map((ms) => new Date(ms)) };
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
