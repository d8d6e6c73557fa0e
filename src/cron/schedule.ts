/**
 * Job schedules: a 5-field cron expression, a 6-field one whose first field is seconds, `every <duration>`,
 * or an ISO time for a one-shot job. Parsing is pure; croner computes cron times (no callback: no timer).
 */
import { Cron } from "croner";
import { parseDuration } from "../config/duration.ts";

export type Schedule =
  | { kind: "cron"; expression: string; cron: Cron }
  | { kind: "every"; intervalMs: number }
  | { kind: "once"; at: Date };

export type ParsedSchedule = { ok: true; schedule: Schedule } | { ok: false; reason: string };

/**
 * How cron expressions are read, everywhere (the scheduler, the linter, `cron list`):
 * - day of month and day of week are ORed when both are restricted, as in Vixie cron and POSIX
 *   (`0 9 1 * MON` runs on the 1st and on Mondays);
 * - DST as Vixie cron: a fixed-time job (no `*` or step in seconds, minutes, hours: `30 2 * * *`, `0 9,17 * * *`)
 *   whose time falls in a spring-forward gap runs once at the end of the gap, and once (at the first) when a
 *   fall-back repeats its time; an interval job (`*\/15 * * * *`) skips times in a gap and runs on both passes of
 *   a repeated hour, so its spacing stays regular;
 * - 5 fields, or 6 with seconds first; never a year field.
 */
export const CRON_OPTIONS = {
  domAndDow: false,
  fixedTimeRule: "no-wildcard",
  mode: "5-or-6-parts",
} as const;

const ISO_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Parses a schedule. Without a time zone, cron times are computed in UTC: enough to tell whether an expression
 * is valid and ever fires, and it avoids loading ICU's zone data (which local time would).
 */
export function parseSchedule(text: string, timezone?: string): ParsedSchedule {
  const trimmed = text.trim();
  const every = /^every\s+(.+)$/i.exec(trimmed);
  if (every) {
    const ms = parseDuration(every[1]!.replace(/\s+/g, ""));
    if (ms === undefined)
      return { ok: false, reason: `"${every[1]}" is not a duration such as 30s, 5m or 2h` };
    if (ms < 1000) return { ok: false, reason: "an interval must be at least 1s" };
    return { ok: true, schedule: { kind: "every", intervalMs: ms } };
  }
  if (ISO_TIME.test(trimmed)) {
    const at = new Date(trimmed.replace(" ", "T"));
    if (Number.isNaN(at.getTime())) return { ok: false, reason: "not a valid date and time" };
    return { ok: true, schedule: { kind: "once", at } };
  }
  const fields = trimmed.split(/\s+/).filter(Boolean);
  if (fields.length !== 5 && fields.length !== 6) {
    return {
      ok: false,
      reason: `a cron expression has 5 fields (minute hour day month weekday) or 6 with seconds first; this one has ${fields.length}`,
    };
  }
  let cron: Cron;
  try {
    cron = new Cron(trimmed, {
      paused: true,
      ...CRON_OPTIONS,
      ...(timezone ? { timezone } : { utcOffset: 0 }),
    });
  } catch (error) {
    return {
      ok: false,
      reason: String(error instanceof Error ? error.message : error).replace(/^CronPattern:\s*/, ""),
    };
  }
  try {
    if (!cron.nextRun()) return { ok: false, reason: "it never fires (no such date)" };
  } catch {
    // An invalid time zone is reported by its own rule.
  }
  return { ok: true, schedule: { kind: "cron", expression: trimmed, cron } };
}

let canonicalZones: Set<string> | undefined;

/**
 * Is this an IANA time zone name the runtime knows? The canonical list is cheap to read; building a
 * formatter for a zone loads ICU's zone data (about 5 MiB), so that is only done for aliases (`US/Eastern`).
 */
export function isValidTimeZone(zone: string): boolean {
  canonicalZones ??= new Set(Intl.supportedValuesOf("timeZone"));
  if (canonicalZones.has(zone)) return true;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
