import { describe, expect, it } from "vitest";
import { COUNT_LIMIT, compileSchedule, nextSlot, type Slots, slotsIn, upcoming } from "./slots.ts";

function slots(text: string, zone?: string): Slots {
  const compiled = compileSchedule(text, zone);
  if (!compiled.ok) throw new Error(compiled.reason);
  return compiled.slots;
}

const t = (text: string) => Date.parse(text);
const isoOf = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The slots from `from` (exclusive) to `until` (inclusive), as ISO strings. */
function between(s: Slots, from: string, until: string): string[] {
  const out: string[] = [];
  let at: number | null = t(from);
  for (;;) {
    at = s.next(at);
    if (at === null || at > t(until)) return out;
    out.push(new Date(at).toISOString());
  }
}

describe("every <duration>", () => {
  it("is anchored to the Unix epoch: the same slots whenever it is asked, before or after a restart", () => {
    const s = slots("every 2s");
    expect(isoOf(s.next(t("2026-05-01T10:00:00.000Z")))).toBe("2026-05-01T10:00:02.000Z");
    expect(isoOf(s.next(t("2026-05-01T10:00:01.999Z")))).toBe("2026-05-01T10:00:02.000Z");
    expect(isoOf(s.previous(t("2026-05-01T10:00:03.500Z")))).toBe("2026-05-01T10:00:02.000Z");
    expect(upcoming(slots("every 30m", "UTC"), t("2026-12-01T10:07:00Z"), 2).map(isoOf)).toEqual([
      "2026-12-01T10:30:00.000Z",
      "2026-12-01T11:00:00.000Z",
    ]);
    const half = slots("every 30m", "Asia/Kolkata");
    // The zone does not move an interval: :00 and :30 UTC, which is :30 and :00 in India.
    expect(between(half, "2026-05-01T10:10:00Z", "2026-05-01T11:10:00Z")).toEqual([
      "2026-05-01T10:30:00.000Z",
      "2026-05-01T11:00:00.000Z",
    ]);
  });
});

describe("cron expressions", () => {
  it("5 fields, and 6 with seconds first, in the job's zone", () => {
    expect(isoOf(slots("0 3 * * *", "Asia/Shanghai").next(t("2026-12-01T12:00:00Z")))).toBe(
      "2026-12-01T19:00:00.000Z",
    );
    expect(upcoming(slots("0 3 * * *", "Europe/Berlin"), t("2026-12-01T12:00:00Z"), 3).map(isoOf)).toEqual([
      "2026-12-02T02:00:00.000Z",
      "2026-12-03T02:00:00.000Z",
      "2026-12-04T02:00:00.000Z",
    ]);
    expect(isoOf(slots("15 30 9 * * *", "Asia/Shanghai").next(t("2026-12-01T00:00:05Z")))).toBe(
      "2026-12-01T01:30:15.000Z",
    );
    expect(between(slots("*/20 * * * * *", "UTC"), "2026-05-01T10:00:00Z", "2026-05-01T10:01:00Z")).toEqual([
      "2026-05-01T10:00:20.000Z",
      "2026-05-01T10:00:40.000Z",
      "2026-05-01T10:01:00.000Z",
    ]);
  });

  it("counts slots strictly after the given instant", () => {
    expect(isoOf(slots("0 3 * * *", "Europe/Berlin").next(t("2026-12-02T02:00:00Z")))).toBe(
      "2026-12-03T02:00:00.000Z",
    );
  });

  it("a daily time outside the DST gap keeps its wall-clock time across the change", () => {
    // Europe/Berlin moves from +01:00 to +02:00 on 2026-03-29.
    expect(upcoming(slots("0 9 * * *", "Europe/Berlin"), t("2026-03-27T12:00:00Z"), 3).map(isoOf)).toEqual([
      "2026-03-28T08:00:00.000Z",
      "2026-03-29T07:00:00.000Z",
      "2026-03-30T07:00:00.000Z",
    ]);
  });

  it("ORs day of month and day of week, as Vixie cron does", () => {
    // 2026-06-01 is a Monday; 2026-06-08 a Monday; 2026-06-15 too (and the 15th).
    expect(between(slots("0 9 15 * MON", "UTC"), "2026-06-01T10:00:00Z", "2026-06-16T00:00:00Z")).toEqual([
      "2026-06-08T09:00:00.000Z",
      "2026-06-15T09:00:00.000Z",
    ]);
  });

  it("spring forward (Europe/Berlin, 2026-03-29, 02:00 → 03:00): a daily 02:30 job runs once, at 03:00", () => {
    const s = slots("30 2 * * *", "Europe/Berlin");
    expect(between(s, "2026-03-28T00:00:00Z", "2026-03-31T00:00:00Z")).toEqual([
      "2026-03-28T01:30:00.000Z", // 02:30 CET
      "2026-03-29T01:00:00.000Z", // 02:30 does not exist: 03:00 CEST, the end of the gap
      "2026-03-30T00:30:00.000Z", // 02:30 CEST
    ]);
  });

  it("fall back (America/New_York, 2026-11-01, 02:00 → 01:00): a daily 01:30 job runs once, not twice", () => {
    const s = slots("30 1 * * *", "America/New_York");
    expect(between(s, "2026-10-31T00:00:00Z", "2026-11-03T00:00:00Z")).toEqual([
      "2026-10-31T05:30:00.000Z", // 01:30 EDT
      "2026-11-01T05:30:00.000Z", // the first 01:30 (EDT); the second (EST, 06:30Z) does not run
      "2026-11-02T06:30:00.000Z", // 01:30 EST
    ]);
  });

  it("an interval job keeps its spacing: skips the spring gap, runs through both passes of the fall hour", () => {
    const fall = slots("0,30 * * * *", "America/New_York");
    const night = between(fall, "2026-11-01T04:45:00Z", "2026-11-01T07:15:00Z");
    expect(night).toEqual([
      "2026-11-01T05:00:00.000Z", // 01:00 EDT
      "2026-11-01T05:30:00.000Z", // 01:30 EDT
      "2026-11-01T06:00:00.000Z", // 01:00 EST
      "2026-11-01T06:30:00.000Z", // 01:30 EST
      "2026-11-01T07:00:00.000Z", // 02:00 EST
    ]);
    const spring = slots("*/30 * * * *", "Europe/Berlin");
    expect(between(spring, "2026-03-29T00:15:00Z", "2026-03-29T01:45:00Z")).toEqual([
      "2026-03-29T00:30:00.000Z", // 01:30 CET
      "2026-03-29T01:00:00.000Z", // 03:00 CEST (02:00 and 02:30 do not exist)
      "2026-03-29T01:30:00.000Z",
    ]);
  });

  it("a fixed-time list (30 2,14) is a fixed-time job too: once at the end of a gap", () => {
    const s = slots("30 2,14 * * *", "Europe/Berlin");
    expect(between(s, "2026-03-28T23:00:00Z", "2026-03-29T13:00:00Z")).toEqual([
      "2026-03-29T01:00:00.000Z", // 02:30 does not exist: 03:00 CEST
      "2026-03-29T12:30:00.000Z", // 14:30 CEST
    ]);
  });
});

describe("once", () => {
  it("an ISO time without an offset is read in the job's zone; with one, as written", () => {
    expect(isoOf(slots("2026-12-24T09:00", "Asia/Shanghai").next(0))).toBe("2026-12-24T01:00:00.000Z");
    expect(isoOf(slots("2026-12-24T09:00:00Z", "Asia/Shanghai").next(0))).toBe("2026-12-24T09:00:00.000Z");
    const s = slots("2026-12-24 09:00+08:00");
    expect(s.next(t("2026-12-24T01:00:00Z"))).toBeNull();
    expect(isoOf(s.previous(t("2026-12-25T00:00:00Z")))).toBe("2026-12-24T01:00:00.000Z");
  });

  it("a space may stand for the T; an offset is used as written", () => {
    expect(isoOf(slots("2026-12-24 09:00", "Europe/Berlin").next(0))).toBe("2026-12-24T08:00:00.000Z");
    expect(isoOf(slots("2026-12-24T09:00+05:30", "UTC").next(0))).toBe("2026-12-24T03:30:00.000Z");
  });
});

describe("nextSlot", () => {
  it("is the first slot after both the last slot and now", () => {
    const every = slots("every 90s");
    // Epoch-anchored whatever the last slot: every reader (holder, standby, cron list) shows the same time.
    expect(isoOf(nextSlot(every, t("2026-12-01T10:00:00Z"), t("2026-12-01T10:04:00Z")))).toBe(
      "2026-12-01T10:04:30.000Z",
    );
    expect(isoOf(nextSlot(every, null, t("2026-12-01T10:04:00Z")))).toBe("2026-12-01T10:04:30.000Z");
    // A clock stepped back does not fire a slot again: the last slot wins over now.
    expect(isoOf(nextSlot(every, t("2026-12-01T10:06:00Z"), t("2026-12-01T10:04:00Z")))).toBe(
      "2026-12-01T10:07:30.000Z",
    );
  });

  it("a one-shot job has none once its time has passed, or once it has run", () => {
    const once = slots("2026-12-24T09:00Z");
    expect(nextSlot(once, null, t("2026-12-25T00:00:00Z"))).toBeNull();
    expect(nextSlot(once, t("2026-12-24T09:00:00Z"), t("2026-12-01T00:00:00Z"))).toBeNull();
    expect(isoOf(nextSlot(once, null, t("2026-12-01T00:00:00Z")))).toBe("2026-12-24T09:00:00.000Z");
  });
});

describe("compileSchedule", () => {
  it("reports what is wrong", () => {
    expect(compileSchedule("0 3 * * *", "Asia/Beijing")).toEqual({
      ok: false,
      reason: 'time zone "Asia/Beijing" is not an IANA time zone name',
    });
    // An interval does not use its zone, but an unknown zone is still wrong.
    expect(compileSchedule("every 1h", "Mars/Base").ok).toBe(false);
    expect(compileSchedule("0 25 * * *", "UTC")).toMatchObject({
      ok: false,
      reason: expect.stringContaining("hour"),
    });
    const never = compileSchedule("0 0 30 2 *", "UTC");
    expect(never).toMatchObject({ ok: false, reason: expect.stringContaining("never fires") });
  });
});

describe("slotsIn", () => {
  it("counts an interval's slots by arithmetic and keeps the latest ones", () => {
    const s = slots("every 1s");
    const range = slotsIn(s, t("2026-05-01T10:00:00.000Z"), t("2026-05-01T10:00:05.500Z"), 3);
    expect(range).toEqual({
      count: 5,
      exact: true,
      latest: [t("2026-05-01T10:00:03Z"), t("2026-05-01T10:00:04Z"), t("2026-05-01T10:00:05Z")],
    });
    expect(slotsIn(s, t("2026-05-01T10:00:00Z"), t("2026-05-01T10:00:00.900Z"), 3).count).toBe(0);
    // A year of seconds is counted at once.
    expect(slotsIn(s, 0, 365 * 86_400_000, 1).count).toBe(365 * 86_400);
  });

  it("walks a cron expression's slots, and estimates beyond COUNT_LIMIT (saying so)", () => {
    const hourly = slots("0 * * * *", "UTC");
    const day = slotsIn(hourly, t("2026-05-01T00:00:00Z"), t("2026-05-02T00:00:00Z"), 2);
    expect(day).toEqual({
      count: 24,
      exact: true,
      latest: [t("2026-05-01T23:00:00Z"), t("2026-05-02T00:00:00Z")],
    });
    const secondly = slots("* * * * * *", "UTC");
    const hour = slotsIn(secondly, t("2026-05-01T00:00:00Z"), t("2026-05-01T01:00:00Z"), 1);
    expect(hour.exact).toBe(false);
    expect(hour.count).toBeGreaterThan(COUNT_LIMIT);
    expect(Math.abs(hour.count - 3600)).toBeLessThanOrEqual(2);
    expect(hour.latest).toEqual([t("2026-05-01T01:00:00Z")]);
  });
});
