import { describe, expect, it } from "vitest";
import { formatInZone, localZone } from "./zone.ts";

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

  it("shows a zone the runtime does not know in UTC, saying so", () => {
    expect(formatInZone(new Date("2026-12-01T23:00:00Z"), "Mars/Base", { showZone: false })).toBe(
      "2026-12-01 23:00 UTC",
    );
  });
});

describe("localZone", () => {
  it("is the zone this process's clock shows", () => {
    const at = new Date("2026-07-01T12:34:00Z");
    const local = `${at.getFullYear()}-${String(at.getMonth() + 1).padStart(2, "0")}-${String(at.getDate()).padStart(2, "0")} ${String(at.getHours()).padStart(2, "0")}:${String(at.getMinutes()).padStart(2, "0")}`;
    expect(formatInZone(at, localZone())).toBe(local);
  });
});
