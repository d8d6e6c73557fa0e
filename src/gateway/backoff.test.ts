import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff.ts";

describe("backoffDelay", () => {
  it("doubles from initial to the cap, with jitter between half and all of the ceiling", () => {
    const low = (n: number) => backoffDelay(n, { initialMs: 1000, maxMs: 8000, random: () => 0 });
    const high = (n: number) => backoffDelay(n, { initialMs: 1000, maxMs: 8000, random: () => 0.999999 });
    expect([1, 2, 3, 4, 5, 50].map(low)).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
    expect([1, 2, 3, 4, 5, 50].map(high)).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it("never exceeds the cap, whatever the attempt", () => {
    for (let n = 1; n < 2000; n += 37)
      expect(backoffDelay(n, { initialMs: 1000, maxMs: 300_000 })).toBeLessThanOrEqual(300_000);
  });

  it("rejects nonsense with RangeError", () => {
    expect(() => backoffDelay(0)).toThrow(RangeError);
    expect(() => backoffDelay(1, { initialMs: 10, maxMs: 5 })).toThrow(RangeError);
  });
});
