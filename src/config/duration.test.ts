import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "./duration.ts";

describe("parseDuration", () => {
  it.each([
    [30, 30_000],
    [0.5, 500],
    ["30", 30_000],
    ["500ms", 500],
    ["30s", 30_000],
    ["5m", 300_000],
    ["2h", 7_200_000],
    ["1d", 86_400_000],
    ["1h30m", 5_400_000],
    [" 10s ", 10_000],
    ["1.5s", 1500],
  ] as const)("%j is %i ms", (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(["", "s", "10 s", "-5s", "5x", "5mm", "h2", "1e3s", Number.NaN, -1, Number.POSITIVE_INFINITY])(
    "rejects %j",
    (input) => {
      expect(parseDuration(input as string | number)).toBeUndefined();
    },
  );
});

describe("formatDuration", () => {
  it.each([
    [0, "0s"],
    [500, "500ms"],
    [30_000, "30s"],
    [90_000, "90s"],
    [300_000, "5m"],
    [7_200_000, "2h"],
    [86_400_000, "1d"],
    [1_500, "1500ms"],
  ])("%i ms is %s, and reads back", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });
});
