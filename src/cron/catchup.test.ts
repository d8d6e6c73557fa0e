import { describe, expect, it } from "vitest";
import { MAX_CATCHUP_RUNS, planCatchup } from "./catchup.ts";
import { compileSchedule, type Slots } from "./slots.ts";

function slots(text: string): Slots {
  const compiled = compileSchedule(text, "UTC");
  if (!compiled.ok) throw new Error(compiled.reason);
  return compiled.slots;
}

const t = (text: string) => Date.parse(text);
const lastSlot = t("2026-05-01T10:00:00Z");
// A scheduler that was down from just after 10:00:00 to 10:00:05.5: slots 01..05 came due.
const now = t("2026-05-01T10:00:05.500Z");
const due = [1, 2, 3, 4, 5].map((s) => t(`2026-05-01T10:00:0${s}Z`));

describe("planCatchup", () => {
  it("skip runs none of the missed slots and counts them all", () => {
    expect(planCatchup(slots("every 1s"), lastSlot, now, "skip")).toEqual({
      run: [],
      missed: 5,
      exact: true,
      from: due[0],
      to: due[4],
    });
  });

  it("once runs the latest, once; the others are missed", () => {
    expect(planCatchup(slots("every 1s"), lastSlot, now, "once")).toMatchObject({ run: [due[4]], missed: 4 });
  });

  it("all runs each in order, none missed", () => {
    expect(planCatchup(slots("every 1s"), lastSlot, now, "all")).toMatchObject({ run: due, missed: 0 });
  });

  it("all runs at most MAX_CATCHUP_RUNS (the latest); older ones are counted as missed", () => {
    const plan = planCatchup(slots("every 1s"), lastSlot, lastSlot + 250_000, "all");
    expect(plan.run).toHaveLength(MAX_CATCHUP_RUNS);
    expect(plan.run[0]).toBe(lastSlot + 151_000);
    expect(plan.missed).toBe(150);
  });

  it("nothing due: nothing to do", () => {
    expect(
      planCatchup(slots("0 3 * * *"), t("2026-05-01T03:00:00Z"), t("2026-05-01T12:00:00Z"), "all"),
    ).toEqual({
      run: [],
      missed: 0,
      exact: true,
      from: null,
      to: null,
    });
  });

  it("a one-shot whose time passed while no scheduler ran is run once (once), or counted (skip)", () => {
    const once = slots("2026-05-01T10:00:03Z");
    expect(planCatchup(once, Number.NEGATIVE_INFINITY, now, "once")).toMatchObject({
      run: [due[2]],
      missed: 0,
    });
    expect(planCatchup(once, Number.NEGATIVE_INFINITY, now, "skip")).toMatchObject({ run: [], missed: 1 });
    expect(planCatchup(once, due[2]!, now, "once")).toMatchObject({ run: [], missed: 0 });
  });
});
