/**
 * A job's slots: the instants its schedule names, in UTC milliseconds. Pure: no timers, no clock.
 *
 * - cron expressions are read in the job's IANA zone (default: the machine's), with the DST rules of
 *   `CRON_OPTIONS` (`schedule.ts`);
 * - `every <duration>` is anchored to the Unix epoch (1970-01-01T00:00:00Z): its slots are the multiples of the
 *   interval, so `every 30m` fires at :00 and :30 (UTC), `every 2s` at even seconds. Every scheduler computes the
 *   same slots from the schedule alone, before and after a restart or a takeover; nothing about when a job was
 *   first seen moves them. For a time of day, use a cron expression;
 * - an ISO time is one slot; without an offset it is read in the job's zone.
 */
import { Cron } from "croner";
import { isValidTimeZone, parseSchedule } from "./schedule.ts";
import { localZone } from "./zone.ts";

export interface Slots {
  readonly kind: "cron" | "every" | "once";
  /** The first slot strictly after `after`, or null when there is none. */
  next(after: number): number | null;
  /** The last slot at or before `at`, or null when there is none. */
  previous(at: number): number | null;
}

export type CompiledSchedule = { ok: true; slots: Slots; zone: string } | { ok: false; reason: string };

const HAS_OFFSET = /(Z|[+-]\d{2}:?\d{2})$/i;

/** A job's slots from its schedule and zone (default: the machine's), or why it has none. */
export function compileSchedule(text: string, timezone?: string): CompiledSchedule {
  const zone = timezone ?? localZone();
  // Checked for every kind: an interval does not use its zone, but a job naming an unknown one is wrong.
  if (!isValidTimeZone(zone))
    return { ok: false, reason: `time zone "${zone}" is not an IANA time zone name` };
  let parsed: ReturnType<typeof parseSchedule>;
  try {
    parsed = parseSchedule(text, zone);
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
  if (!parsed.ok) return parsed;
  const { schedule } = parsed;
  if (schedule.kind === "every") return { ok: true, zone, slots: everySlots(schedule.intervalMs) };
  if (schedule.kind === "once") {
    let at = schedule.at.getTime();
    const trimmed = text.trim();
    if (!HAS_OFFSET.test(trimmed)) {
      // A wall-clock time in the job's zone, not in the process's.
      try {
        const once = new Cron(trimmed.replace(" ", "T"), { paused: true, timezone: zone });
        at = once.getOnce()?.getTime() ?? at;
      } catch (error) {
        return { ok: false, reason: error instanceof Error ? error.message : String(error) };
      }
    }
    return { ok: true, zone, slots: onceSlots(at) };
  }
  try {
    // The zone is checked here: parseSchedule leaves an unknown zone to its own lint rule.
    schedule.cron.nextRun();
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
  return { ok: true, zone, slots: cronSlots(schedule.cron) };
}

/**
 * The slot a job fires next: the first after both its last slot (state.json `last_slot`, null when none) and
 * `now`. What the holder arms, what a standby and `hermes cron list` show.
 */
export function nextSlot(slots: Slots, lastSlot: number | null, now: number): number | null {
  return slots.next(Math.max(lastSlot ?? Number.NEGATIVE_INFINITY, now));
}

/** The next `count` slots after `after` (fewer when the schedule ends): previews of `cron add` and `cron list`. */
export function upcoming(slots: Slots, after: number, count: number): number[] {
  const runs: number[] = [];
  let at: number | null = after;
  while (runs.length < count) {
    at = slots.next(at);
    if (at === null) break;
    runs.push(at);
  }
  return runs;
}

function everySlots(interval: number): Slots {
  return {
    kind: "every",
    next: (after) => (Math.floor(after / interval) + 1) * interval,
    previous: (at) => Math.floor(at / interval) * interval,
  };
}

function onceSlots(at: number): Slots {
  return {
    kind: "once",
    next: (after) => (at > after ? at : null),
    previous: (t) => (at <= t ? at : null),
  };
}

function cronSlots(cron: Cron): Slots {
  return {
    kind: "cron",
    next: (after) => cron.nextRun(new Date(after))?.getTime() ?? null,
    previous: (at) => cron.previousRuns(1, new Date(at + 1))[0]?.getTime() ?? null,
  };
}

/** Slots counted one by one at most; beyond this a count is an estimate (a cron job down for months). */
export const COUNT_LIMIT = 1000;

export interface SlotRange {
  /** How many slots lie in (after, until]. */
  count: number;
  /** False when `count` is an estimate (more than COUNT_LIMIT slots of a cron expression). */
  exact: boolean;
  /** The latest `keep` of them, oldest first. */
  latest: number[];
}

/** The slots in (after, until]: how many, and the latest `keep` of them. */
export function slotsIn(slots: Slots, after: number, until: number, keep: number): SlotRange {
  if (until <= after) return { count: 0, exact: true, latest: [] };
  if (slots.kind !== "cron") {
    // every: arithmetic; once: at most one.
    const latest: number[] = [];
    let count = 0;
    if (slots.kind === "once") {
      const at = slots.next(after);
      if (at !== null && at <= until) {
        count = 1;
        if (keep > 0) latest.push(at);
      }
      return { count, exact: true, latest };
    }
    const last = slots.previous(until)!;
    const first = slots.next(after)!;
    if (first > until) return { count: 0, exact: true, latest };
    const interval = slots.next(last)! - last;
    count = Math.round((last - first) / interval) + 1;
    for (let i = Math.min(keep, count) - 1; i >= 0; i--) latest.push(last - i * interval);
    return { count, exact: true, latest };
  }
  const latest: number[] = [];
  let count = 0;
  let at: number | null = after;
  let firstAt: number | undefined;
  while (count < COUNT_LIMIT) {
    at = slots.next(at);
    if (at === null || at > until) return { count, exact: true, latest };
    firstAt ??= at;
    count++;
    latest.push(at);
    if (latest.length > keep) latest.shift();
  }
  // Many more than can be walked one by one: the rest is estimated from the density so far, and the
  // latest ones are found walking back from `until`.
  const walked = (at as number) - (firstAt as number);
  const rest = walked > 0 ? Math.round(((until - (at as number)) * (COUNT_LIMIT - 1)) / walked) : 0;
  const tail: number[] = [];
  let back: number | null = slots.previous(until);
  while (back !== null && back > after && tail.length < keep) {
    tail.unshift(back);
    back = slots.previous(back - 1);
  }
  return { count: count + rest, exact: false, latest: tail };
}
