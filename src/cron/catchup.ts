/**
 * What to do with slots that came due without being run: decided from the persisted `last_slot` alone, so it is
 * the same after a restart, a takeover, or a machine that was off for a week. Pure.
 *
 * `skip` runs none of them, `once` runs the latest one, `all` runs each in order (the latest MAX_CATCHUP_RUNS at
 * most). Every due slot that is not run is a missed run: counted and reported, never silent.
 */

import { type Slots, slotsIn } from "./slots.ts";
import type { JobConfig } from "./types.ts";

export type Catchup = JobConfig["catchup"];

/** `catchup: all` runs at most this many missed slots (the latest); older ones are counted as missed. */
export const MAX_CATCHUP_RUNS = 100;

export interface CatchupPlan {
  /** Slots to run now, oldest first. */
  run: number[];
  /** Due slots that will not run. */
  missed: number;
  /** False when `missed` is an estimate (thousands of slots of a cron expression). */
  exact: boolean;
  /** The first and the last due slot (for the log), when any was due. */
  from: number | null;
  to: number | null;
}

/**
 * The due slots of a job are those in (after, now]; `after` is its `last_slot` (the latest slot already
 * started or counted).
 */
export function planCatchup(slots: Slots, after: number, now: number, catchup: Catchup): CatchupPlan {
  const keep = catchup === "skip" ? 1 : catchup === "once" ? 1 : MAX_CATCHUP_RUNS;
  const due = slotsIn(slots, after, now, keep);
  if (due.count === 0) return { run: [], missed: 0, exact: true, from: null, to: null };
  const from = slots.next(after);
  const to = due.latest[due.latest.length - 1] ?? null;
  const run = catchup === "skip" ? [] : due.latest;
  return { run, missed: due.count - run.length, exact: due.exact, from, to };
}
