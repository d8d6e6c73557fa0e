import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { job as jobSchema } from "../config/schema.ts";
import { PLAIN } from "../lint/format/human.ts";
import { emptyJobState, type Job, type ListEntry } from "./types.ts";
import { entryOf, formatPreview, formatTable, nextRuns, pickEntry, previewRuns, shorten } from "./view.ts";
import { localZone } from "./zone.ts";

const job = (fields: Record<string, unknown>, source: Job["source"] = "config"): Job => ({
  ...v.parse(jobSchema, { id: "j", message: "x", ...fields }),
  source,
});

const NOW = new Date("2026-12-01T12:00:00Z");

describe("entryOf", () => {
  it("computes the next run in the job's zone and passes the run state through", () => {
    const state = {
      ...emptyJobState(),
      last_run_at: "2026-12-01T02:00:00.000Z",
      last_status: "error" as const,
      last_error: "exit code 1",
      last_delivery_status: "failed" as const,
      missed_runs: 3,
    };
    const { entry, problem } = entryOf(job({ schedule: "0 3 * * *", timezone: "Europe/Berlin" }), state, NOW);
    expect(problem).toBeUndefined();
    expect(entry).toEqual({
      id: "j",
      schedule: "0 3 * * *",
      timezone: "Europe/Berlin",
      enabled: true,
      next_run_at: "2026-12-02T02:00:00.000Z",
      last_run_at: "2026-12-01T02:00:00.000Z",
      last_status: "error",
      last_error: "exit code 1",
      last_delivery_status: "failed",
      missed_runs: 3,
      source: "config",
    });
  });

  it("shows the slot the scheduler fires next (an interval on the epoch), and the machine's zone when none", () => {
    const state = { ...emptyJobState(), last_slot: "2026-12-01T11:59:15.000Z" };
    const { entry } = entryOf(job({ schedule: "every 45s" }, "cli"), state, NOW);
    expect(entry).toMatchObject({
      next_run_at: "2026-12-01T12:00:45.000Z",
      timezone: localZone(),
      source: "cli",
    });
    // A one-shot job that has run (its slot is the last one) has no next run.
    const once = job({ schedule: "2026-12-24T09:00Z" });
    const ran = { ...emptyJobState(), last_slot: "2026-12-24T09:00:00.000Z" };
    expect(entryOf(once, ran, NOW).entry.next_run_at).toBeNull();
    expect(entryOf(once, undefined, NOW).entry.next_run_at).toBe("2026-12-24T09:00:00.000Z");
  });

  it("has no next run for a paused job, and says why an invalid one has none", () => {
    expect(entryOf(job({ schedule: "0 3 * * *", enabled: false }), undefined, NOW)).toEqual({
      entry: expect.objectContaining({
        enabled: false,
        next_run_at: null,
        missed_runs: 0,
        last_status: null,
      }),
    });
    const invalid = entryOf(job({ schedule: "0 3 * * *", timezone: "Mars/Base" }), undefined, NOW);
    expect(invalid.entry.next_run_at).toBeNull();
    expect(invalid.problem).toBe('time zone "Mars/Base" is not an IANA time zone name');
    // As the scheduler reports it.
    expect(invalid.entry.last_error).toBe(
      'cannot be scheduled: time zone "Mars/Base" is not an IANA time zone name',
    );
  });
});

describe("formatTable", () => {
  const entry = (fields: Partial<ListEntry>): ListEntry => ({
    id: "backup",
    schedule: "0 3 * * *",
    timezone: "Europe/Berlin",
    enabled: true,
    next_run_at: "2026-12-02T02:00:00.000Z",
    last_run_at: "2026-12-01T02:00:00.000Z",
    last_status: "ok",
    last_error: null,
    last_delivery_status: "delivered",
    missed_runs: 0,
    source: "config",
    ...fields,
  });

  it("shows the next run with its zone, the last run in the same zone, and aligned columns", () => {
    const text = formatTable(
      [
        entry({}),
        entry({
          id: "ny",
          timezone: "America/New_York",
          last_status: "error",
          last_error: "boom\nsecond line",
        }),
      ],
      PLAIN,
      new Map(),
    );
    const [header, first, second] = text.trimEnd().split("\n");
    expect(first).toMatch(
      /^backup +0 3 \* \* \* +2026-12-02 03:00 Europe\/Berlin +2026-12-01 03:00 +ok +- +delivered +0 +config$/,
    );
    expect(second).toMatch(
      /^ny +0 3 \* \* \* +2026-12-01 21:00 America\/New_York +2026-11-30 21:00 +error +boom +delivered/,
    );
    expect(header!.indexOf("NEXT RUN")).toBe(first!.indexOf("2026-12-02"));
    expect(header!.indexOf("SOURCE")).toBe(second!.lastIndexOf("config"));
  });

  it("marks paused jobs and those that cannot run", () => {
    const text = formatTable(
      [entry({ id: "off", enabled: false, next_run_at: null }), entry({ id: "bad", next_run_at: null })],
      PLAIN,
      new Map([["bad", "nope"]]),
    );
    expect(text).toMatch(/^off \(paused\) +0 3 \* \* \* +paused /m);
    expect(text).toMatch(/^bad +0 3 \* \* \* +cannot run \(below\) /m);
  });
});

describe("shorten", () => {
  it("keeps the first non-empty line, cut with an ellipsis", () => {
    expect(shorten("\n  exit code 3  \nstack")).toBe("exit code 3");
    expect(shorten("x".repeat(50), 10)).toBe(`${"x".repeat(9)}…`);
  });
});

describe("pickEntry", () => {
  it("keeps exactly the contract's keys, in its order", () => {
    const raw = { source: "cli", id: "a", extra: 1, schedule: "every 1h" } as unknown as ListEntry;
    expect(Object.keys(pickEntry(raw))).toEqual([
      "id",
      "schedule",
      "timezone",
      "enabled",
      "next_run_at",
      "last_run_at",
      "last_status",
      "last_error",
      "last_delivery_status",
      "missed_runs",
      "source",
    ]);
    expect(pickEntry(raw)).toMatchObject({ id: "a", source: "cli", missed_runs: 0, last_error: null });
  });
});

describe("previews", () => {
  it("lists the next runs in the job's zone, or why there are none", () => {
    expect(previewRuns({ schedule: "0 3 * * *", timezone: "Asia/Shanghai", enabled: true }, NOW)).toBe(
      "next 3 runs: 2026-12-02 03:00, 2026-12-03 03:00, 2026-12-04 03:00 (Asia/Shanghai)",
    );
    expect(previewRuns({ schedule: "2026-01-01T00:00Z", timezone: "UTC", enabled: true }, NOW)).toBe(
      "no next run: its time has passed",
    );
    expect(previewRuns({ schedule: "0 3 * *", timezone: "UTC", enabled: false }, NOW)).toMatch(
      /^cannot run: /,
    );
    expect(previewRuns({ schedule: "every 6h", enabled: false }, NOW, 1)).toMatch(
      new RegExp(
        `^next run: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d \\(${localZone()}, the machine's zone\\); paused$`,
      ),
    );
  });

  it("nextRuns lists the next runs as the scheduler computes them, or why there are none", () => {
    expect(nextRuns({ schedule: "*/20 * * * * *", timezone: "UTC" }, NOW, 2)).toEqual({
      ok: true,
      runs: [new Date("2026-12-01T12:00:20Z"), new Date("2026-12-01T12:00:40Z")],
    });
    expect(nextRuns({ schedule: "2026-12-24T09:00", timezone: "Asia/Shanghai" }, NOW, 3)).toEqual({
      ok: true,
      runs: [new Date("2026-12-24T01:00:00Z")],
    });
    expect(nextRuns({ schedule: "0 3 * * *", timezone: "Asia/Beijing" }, NOW, 1)).toEqual({
      ok: false,
      reason: 'time zone "Asia/Beijing" is not an IANA time zone name',
    });
  });

  it("--explain's appendix names every job and its source", () => {
    const text = formatPreview(
      [
        job({ id: "a", schedule: "every 2h", timezone: "UTC" }),
        job({ id: "b", schedule: "0 25 * * *" }, "cli"),
      ],
      NOW,
      "/h/config.yaml",
      ["cron/jobs.json is broken"],
    );
    expect(text).toBe(
      [
        "",
        "## Your jobs (/h/config.yaml)",
        "",
        "- cron/jobs.json is broken",
        '- `a` (config.yaml): "every 2h" in UTC',
        "  next 3 runs: 2026-12-01 14:00, 2026-12-01 16:00, 2026-12-01 18:00 (UTC)",
        '- `b` (cron/jobs.json): "0 25 * * *"',
        "  cannot run: Invalid value for hour: 25",
        "",
      ].join("\n"),
    );
  });
});
