import { describe, expect, it } from "vitest";
import { isValidTimeZone, parseSchedule } from "./schedule.ts";

describe("parseSchedule", () => {
  it.each([
    "0 3 * * *",
    "*/15 * * * *",
    "0 9 * * MON-FRI",
    "*/30 * * * * *",
    "every 30m",
    "every 2h",
    "every 1h 30m",
    "2026-12-24T09:00",
    "2026-12-24T09:00:00Z",
    "2026-12-24 09:00+08:00",
  ])("accepts %s", (text) => {
    expect(parseSchedule(text).ok).toBe(true);
  });

  it.each([
    ["0 25 * * *", "hour"],
    ["* * *", "5 fields"],
    ["0 3 * * * * *", "5 fields"],
    ["every", "fields"],
    ["every 500ms", "at least 1s"],
    ["every soon", "duration"],
    ["0 0 30 2 *", "never fires"],
    ["2026-13-45T99:00", "valid date"],
  ])("rejects %s, saying why", (text, why) => {
    const parsed = parseSchedule(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toContain(why);
  });

  it("computes cron times in the job's time zone", () => {
    const parsed = parseSchedule("0 3 * * *", "Asia/Shanghai");
    if (!parsed.ok || parsed.schedule.kind !== "cron") throw new Error("expected a cron schedule");
    expect(parsed.schedule.cron.nextRun(new Date("2026-12-01T12:00:00Z"))?.toISOString()).toBe(
      "2026-12-01T19:00:00.000Z",
    );
  });
});

describe("isValidTimeZone", () => {
  it.each(["UTC", "Asia/Shanghai", "America/New_York", "US/Eastern", "Asia/Calcutta"])(
    "accepts %s",
    (zone) => {
      expect(isValidTimeZone(zone)).toBe(true);
    },
  );
  it.each(["Asia/Shangai", "Mars/Base", "", "GMT+25"])("rejects %s", (zone) => {
    expect(isValidTimeZone(zone)).toBe(false);
  });
});
