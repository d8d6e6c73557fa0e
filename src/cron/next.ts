/**
 * The next runs of a schedule, computed without a scheduler: for `cron list` and `cron add` previews and the
 * lint `--explain` pages. Pure: the caller passes the instant to count from, so the same input always gives
 * the same answer. (The scheduler's own slot logic, with catch-up, lives with the scheduler.)
 */
import { Cron } from "croner";
import { isValidTimeZone, parseSchedule } from "./schedule.ts";

export type NextRuns = { ok: true; runs: Date[] } | { ok: false; reason: string };

export interface NextRunsOptions {
  /** The IANA zone cron fields and zone-less ISO times are read in. */
  timezone: string;
  /** Runs strictly after this instant. */
  after: Date;
  /** How many runs (default 1). */
  count?: number;
  /**
   * The last slot the scheduler started (state.json `last_slot`). `every` intervals continue from it; without
   * one they are aligned to the Unix epoch, so every reader computes the same times. A one-shot job whose time
   * is this slot has run.
   */
  lastSlot?: Date | null;
}

export function nextRuns(schedule: string, options: NextRunsOptions): NextRuns {
  const { timezone, after } = options;
  const count = options.count ?? 1;
  if (!isValidTimeZone(timezone))
    return { ok: false, reason: `time zone "${timezone}" is not an IANA time zone name` };
  const parsed = parseSchedule(schedule, timezone);
  if (!parsed.ok) return parsed;
  const { schedule: s } = parsed;
  if (s.kind === "every") {
    const anchor = options.lastSlot?.getTime() ?? 0;
    const first = anchor + (Math.floor((after.getTime() - anchor) / s.intervalMs) + 1) * s.intervalMs;
    return { ok: true, runs: Array.from({ length: count }, (_, i) => new Date(first + i * s.intervalMs)) };
  }
  if (s.kind === "once") {
    const at = onceInZone(schedule, timezone) ?? s.at;
    const ran = options.lastSlot?.getTime() === at.getTime();
    return { ok: true, runs: at > after && !ran && count > 0 ? [at] : [] };
  }
  return { ok: true, runs: s.cron.nextRuns(count, after) };
}

/** An ISO time without an offset is a wall-clock time in the job's zone; croner reads it that way. */
function onceInZone(text: string, timezone: string): Date | undefined {
  try {
    return (
      new Cron(text.trim().replace(" ", "T"), { timezone, paused: true }).nextRun(new Date(0)) ?? undefined
    );
  } catch {
    return undefined;
  }
}

/** The machine's zone: what a job without `timezone` runs in. */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** `2026-12-02 03:00` (seconds only when not zero) as a wall clock in `zone`; with `showZone`, the zone after it. */
export function formatInZone(at: Date, zone: string, options: { showZone?: boolean } = {}): string {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(zone, format);
  }
  const part: Record<string, string> = {};
  for (const p of format.formatToParts(at)) part[p.type] = p.value;
  const seconds = part.second === "00" ? "" : `:${part.second}`;
  const text = `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}${seconds}`;
  return options.showZone ? `${text} ${zone}` : text;
}
