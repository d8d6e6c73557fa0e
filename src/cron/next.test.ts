import { describe, expect, it } from "vitest";
import { formatInZone, nextRuns } from "./next.ts";

const iso = (result: ReturnType<typeof nextRuns>) => {
  if (!result.ok) throw new Error(result.reason);
  return result.runs.map((d) => d.toISOString());
};

describe("nextRuns", () => {
  it("computes 5-field expressions in the job's zone", () => {
    const after = new Date("2026-12-01T12:00:00Z");
    expect(iso(nextRuns("0 3 * * *", { timezone: "Europe/Berlin", after, count: 3 }))).toEqual([
      "2026-12-02T02:00:00.000Z",
      "2026-12-03T02:00:00.000Z",
      "2026-12-04T02:00:00.000Z",
    ]);
    expect(iso(nextRuns("0 3 * * *", { timezone: "Asia/Shanghai", after }))).toEqual([
      "2026-12-01T19:00:00.000Z",
    ]);
  });

  it("follows the zone's daylight saving changes", () => {
    // Europe/Berlin moves from +01:00 to +02:00 on 2026-03-29.
    const after = new Date("2026-03-27T12:00:00Z");
    expect(iso(nextRuns("0 9 * * *", { timezone: "Europe/Berlin", after, count: 3 }))).toEqual([
      "2026-03-28T08:00:00.000Z",
      "2026-03-29T07:00:00.000Z",
      "2026-03-30T07:00:00.000Z",
    ]);
  });

  it("reads 6 fields with the seconds first", () => {
    const after = new Date("2026-12-01T00:00:05Z");
    expect(iso(nextRuns("*/20 * * * * *", { timezone: "UTC", after, count: 3 }))).toEqual([
      "2026-12-01T00:00:20.000Z",
      "2026-12-01T00:00:40.000Z",
      "2026-12-01T00:01:00.000Z",
    ]);
    expect(iso(nextRuns("15 30 9 * * *", { timezone: "Asia/Shanghai", after }))).toEqual([
      "2026-12-01T01:30:15.000Z",
    ]);
  });

  it("counts runs strictly after the given instant", () => {
    const after = new Date("2026-12-02T02:00:00Z");
    expect(iso(nextRuns("0 3 * * *", { timezone: "Europe/Berlin", after }))).toEqual([
      "2026-12-03T02:00:00.000Z",
    ]);
  });

  it("aligns `every` to the epoch without state, and continues from the last slot with it", () => {
    const after = new Date("2026-12-01T10:07:00Z");
    expect(iso(nextRuns("every 30m", { timezone: "UTC", after, count: 2 }))).toEqual([
      "2026-12-01T10:30:00.000Z",
      "2026-12-01T11:00:00.000Z",
    ]);
    const lastSlot = new Date("2026-12-01T10:00:10Z");
    expect(
      iso(nextRuns("every 90s", { timezone: "UTC", after: new Date("2026-12-01T10:04:00Z"), lastSlot })),
    ).toEqual(["2026-12-01T10:04:40.000Z"]);
    // An interval does not depend on the zone.
    expect(iso(nextRuns("every 2h", { timezone: "Asia/Kolkata", after, count: 1 }))).toEqual([
      "2026-12-01T12:00:00.000Z",
    ]);
  });

  it("reads a one-shot ISO time without an offset in the job's zone, with one as given", () => {
    const after = new Date("2026-12-01T00:00:00Z");
    expect(iso(nextRuns("2026-12-24T09:00", { timezone: "Asia/Shanghai", after, count: 3 }))).toEqual([
      "2026-12-24T01:00:00.000Z",
    ]);
    expect(iso(nextRuns("2026-12-24 09:00", { timezone: "Europe/Berlin", after }))).toEqual([
      "2026-12-24T08:00:00.000Z",
    ]);
    expect(iso(nextRuns("2026-12-24T09:00:00Z", { timezone: "Asia/Shanghai", after }))).toEqual([
      "2026-12-24T09:00:00.000Z",
    ]);
    expect(iso(nextRuns("2026-12-24T09:00+05:30", { timezone: "UTC", after }))).toEqual([
      "2026-12-24T03:30:00.000Z",
    ]);
  });

  it("has no next run for a one-shot time that has passed or has run", () => {
    expect(
      iso(nextRuns("2026-12-24T09:00Z", { timezone: "UTC", after: new Date("2026-12-25T00:00:00Z") })),
    ).toEqual([]);
    const lastSlot = new Date("2026-12-24T09:00:00Z");
    expect(
      iso(
        nextRuns("2026-12-24T09:00Z", { timezone: "UTC", after: new Date("2026-12-01T00:00:00Z"), lastSlot }),
      ),
    ).toEqual([]);
  });

  it("says why a schedule or a zone cannot be used", () => {
    const after = new Date("2026-12-01T00:00:00Z");
    expect(nextRuns("0 25 * * *", { timezone: "UTC", after })).toMatchObject({
      ok: false,
      reason: expect.stringContaining("hour"),
    });
    expect(nextRuns("0 3 * * *", { timezone: "Asia/Beijing", after })).toEqual({
      ok: false,
      reason: 'time zone "Asia/Beijing" is not an IANA time zone name',
    });
  });
});

describe("formatInZone", () => {
  it("shows the wall clock of the zone, with the zone when asked", () => {
    const at = new Date("2026-12-02T02:00:00Z");
    expect(formatInZone(at, "Europe/Berlin")).toBe("2026-12-02 03:00");
    expect(formatInZone(at, "Europe/Berlin", { showZone: true })).toBe("2026-12-02 03:00 Europe/Berlin");
    expect(formatInZone(at, "America/New_York", { showZone: true })).toBe(
      "2026-12-01 21:00 America/New_York",
    );
  });

  it("writes midnight as 00 and shows seconds only when there are some", () => {
    expect(formatInZone(new Date("2026-12-01T23:00:00Z"), "Europe/Berlin")).toBe("2026-12-02 00:00");
    expect(formatInZone(new Date("2026-12-01T23:00:15Z"), "UTC")).toBe("2026-12-01 23:00:15");
  });
});
