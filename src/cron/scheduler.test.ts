import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { afterEach, describe, expect, it } from "vitest";
import { echoAgent } from "../agent/echo.ts";
import { job as jobSchema } from "../config/schema.ts";
import { Metrics } from "../gateway/metrics.ts";
import { createLogger, type LogRecord } from "../log/logger.ts";
import type { Runtime } from "../runtime/types.ts";
import { cronPaths, readStateFile, writeStateFile } from "./files.ts";
import { type CronMessage, type DeliverySink, Scheduler } from "./scheduler.ts";
import { type CronStateFile, emptyJobState, type JobConfig } from "./types.ts";

// Node cannot flock: the lock-file fallback (the flock path runs in the binary's end-to-end tests).
const runtime = { name: "node", tryFlock: () => undefined } as unknown as Runtime;

const homes: string[] = [];
const schedulers: Scheduler[] = [];
afterEach(async () => {
  for (const s of schedulers.splice(0)) {
    await s.stop(Date.now());
    s.releaseLock();
  }
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

function home(): string {
  const dir = mkdtempSync(join(tmpdir(), "hermes-cron-"));
  homes.push(dir);
  mkdirSync(join(dir, "run"), { recursive: true });
  return dir;
}

const job = (fields: Record<string, unknown>): JobConfig => v.parse(jobSchema, fields);

interface Sink extends DeliverySink {
  messages: CronMessage[];
  reports: Map<string, (outcome: "delivered" | "failed") => void>;
}

function memorySink(refuse: (target: string) => string | undefined = () => undefined): Sink {
  const messages: CronMessage[] = [];
  const reports = new Map<string, (outcome: "delivered" | "failed") => void>();
  return {
    messages,
    reports,
    async deliver(batch) {
      const refused: { id: string; target: string; error: string }[] = [];
      for (const m of batch) {
        const why = refuse(m.target);
        if (why) refused.push({ id: m.id, target: m.target, error: why });
        else messages.push(m);
      }
      return refused;
    },
    follow(jobId, slot, report) {
      reports.set(`${jobId}:${slot}`, report);
    },
  };
}

function start(
  dir: string,
  jobs: JobConfig[],
  options: { sink?: Sink; logs?: LogRecord[]; kind?: "gateway" | "cron-serve" } = {},
) {
  const sink = options.sink ?? memorySink();
  const logs = options.logs ?? [];
  const scheduler = new Scheduler({
    home: dir,
    kind: options.kind ?? "gateway",
    runtime,
    log: createLogger({ level: "debug", json: true, write: () => {}, capture: (r) => logs.push(r) }),
    metrics: new Metrics(),
    sink,
    configJobs: jobs,
    agent: () => echoAgent,
    env: () => ({ PATH: process.env.PATH }),
    tickMs: 200,
  });
  schedulers.push(scheduler);
  return { scheduler, sink, logs, started: scheduler.start() };
}

async function waitFor<T>(what: string, check: () => T | undefined | false, ms = 8000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const slotOf = (id: string) => /^cron:[^:]+:(.+):\d+$/.exec(id)?.[1] ?? "";

describe("firing", () => {
  it("fires every slot once, in order, and the slot is on disk before the action starts", async () => {
    const dir = home();
    // The command prints cron/state.json as it finds it when it runs: its own slot must be there, running.
    const { sink } = start(dir, [
      job({ id: "tick", schedule: "every 1s", command: "cat cron/state.json", deliver: ["probe:room"] }),
    ]);
    await waitFor("three results", () => sink.messages.length >= 3);
    const slots = sink.messages.slice(0, 3).map((m) => Date.parse(slotOf(m.id)));
    expect(slots[1]! - slots[0]!).toBe(1000);
    expect(slots[2]! - slots[1]!).toBe(1000);
    for (const m of sink.messages.slice(0, 3)) {
      const seen = JSON.parse(m.text) as CronStateFile;
      expect(seen.jobs.tick).toMatchObject({ last_slot: slotOf(m.id), running: { slot: slotOf(m.id) } });
      expect(m.target).toBe("probe:room");
    }
    expect(new Set(sink.messages.map((m) => m.id)).size).toBe(sink.messages.length);
  });

  it("a job never overlaps itself: slots due while it runs are missed, counted and logged", async () => {
    const dir = home();
    const { sink, logs } = start(dir, [
      job({ id: "slow", schedule: "every 1s", command: "sleep 2.5; echo done", deliver: ["probe:room"] }),
    ]);
    await waitFor("the first result", () => sink.messages.length >= 1);
    const state = readStateFile(dir).jobs.slow!;
    expect(state.missed_runs).toBeGreaterThanOrEqual(2);
    expect(logs.some((r) => r.event === "cron.missed" && r.job === "slow" && /still going/.test(r.msg))).toBe(
      true,
    );
  });

  it("a prompt goes to the agent; a message is sent as is; empty output delivers nothing", async () => {
    const dir = home();
    const { sink, scheduler } = start(dir, [
      job({ id: "ask", schedule: "0 0 1 1 *", prompt: "summarise", deliver: ["probe:a"] }),
      job({ id: "say", schedule: "0 0 1 1 *", message: "hello", deliver: ["probe:a", "probe:b"] }),
      job({ id: "quiet", schedule: "0 0 1 1 *", command: ["true"], deliver: ["probe:a"] }),
    ]);
    await waitFor("the holder", () => scheduler.role === "holder");
    expect((await scheduler.runNow("ask")).body).toMatchObject({
      status: "ok",
      output: "summarise",
      delivery: "pending",
    });
    expect((await scheduler.runNow("say")).body).toMatchObject({ status: "ok", delivery: "pending" });
    expect((await scheduler.runNow("quiet")).body).toMatchObject({
      status: "ok",
      output: "",
      delivery: "none",
    });
    expect(sink.messages.map((m) => [m.target, m.text])).toEqual([
      ["probe:a", "summarise"],
      ["probe:a", "hello"],
      ["probe:b", "hello"],
    ]);
    expect(sink.messages[1]!.id).toMatch(/^cron:say:manual-.+:0$/);
  });
});

describe("run now (the control socket)", () => {
  it("404 for an unknown job, 409 while it runs, the result otherwise; runs by hand are not slots", async () => {
    const dir = home();
    const { scheduler } = start(dir, [
      job({ id: "nap", schedule: "0 0 1 1 *", command: "sleep 0.4; echo rested", deliver: ["probe:a"] }),
    ]);
    await waitFor("the holder", () => scheduler.role === "holder");
    expect(await scheduler.runNow("nope")).toMatchObject({ status: 404 });
    const first = scheduler.runNow("nap");
    await waitFor("the run", () => readStateFile(dir).jobs.nap?.running);
    expect(await scheduler.runNow("nap")).toMatchObject({ status: 409 });
    const done = await first;
    expect(done).toMatchObject({
      status: 200,
      body: { id: "nap", status: "ok", output: "rested", error: null },
    });
    expect((done.body as { duration_ms: number }).duration_ms).toBeGreaterThan(0);
    const state = readStateFile(dir).jobs.nap!;
    expect(state).toMatchObject({ last_status: "ok", running: null, missed_runs: 0 });
    // A run by hand spends no slot: the first sight of the job recorded the latest slot before it, no later one.
    expect(Date.parse(state.last_slot!)).toBeLessThan(Date.now() - 1000);
  });

  it("a job that fails tells failure_deliver and the log, with the job's name and the error", async () => {
    const dir = home();
    const { scheduler, sink, logs } = start(dir, [
      job({
        id: "broken",
        schedule: "0 0 1 1 *",
        command: "echo oops >&2; exit 3",
        deliver: ["probe:a"],
        failure_deliver: ["probe:alerts"],
      }),
    ]);
    await waitFor("the holder", () => scheduler.role === "holder");
    expect((await scheduler.runNow("broken")).body).toMatchObject({
      status: "error",
      error: "exit code 3: oops",
    });
    await waitFor("the notice", () => sink.messages.length === 1);
    expect(sink.messages[0]).toMatchObject({
      target: "probe:alerts",
      text: "⚠️ Job broken failed: exit code 3: oops",
      failureTargets: [],
    });
    expect(logs.find((r) => r.event === "cron.failed")).toMatchObject({
      job: "broken",
      error: "exit code 3: oops",
    });
    expect(readStateFile(dir).jobs.broken).toMatchObject({
      last_status: "error",
      last_error: "exit code 3: oops",
    });
  });

  it("a target that can never be delivered fails at once: delivery failed, failure_deliver told", async () => {
    const dir = home();
    const sink = memorySink((target) =>
      target.startsWith("nowhere") ? 'no platform named "nowhere"' : undefined,
    );
    const { scheduler } = start(
      dir,
      [
        job({
          id: "lost",
          schedule: "0 0 1 1 *",
          message: "result",
          deliver: ["nowhere:1", "probe:a"],
          failure_deliver: ["probe:alerts"],
        }),
      ],
      { sink },
    );
    await waitFor("the holder", () => scheduler.role === "holder");
    expect((await scheduler.runNow("lost")).body).toMatchObject({ status: "ok", delivery: "failed" });
    await waitFor("the notice", () => sink.messages.some((m) => m.target === "probe:alerts"));
    expect(sink.messages.find((m) => m.target === "probe:alerts")!.text).toBe(
      '⚠️ Job lost could not deliver its result to nowhere:1: no platform named "nowhere"',
    );
    expect(readStateFile(dir).jobs.lost!.last_delivery_status).toBe("failed");
  });

  it("last_delivery_status follows what the outbox reports", async () => {
    const dir = home();
    const { scheduler, sink } = start(dir, [
      job({ id: "post", schedule: "0 0 1 1 *", message: "m", deliver: ["probe:a"] }),
    ]);
    await waitFor("the holder", () => scheduler.role === "holder");
    await scheduler.runNow("post");
    expect(scheduler.view().jobs[0]!.last_delivery_status).toBe("pending");
    const [key, report] = [...sink.reports][0]!;
    expect(key).toMatch(/^post:manual-/);
    report("delivered");
    expect(scheduler.view().jobs[0]!.last_delivery_status).toBe("delivered");
    await waitFor("state on disk", () => readStateFile(dir).jobs.post?.last_delivery_status === "delivered");
  });
});

describe("catchup from cron/state.json", () => {
  // An hourly job whose last slot was five hours ago: five slots came due while no scheduler ran.
  async function downFiveHours(catchup: "skip" | "once" | "all") {
    // Not across an hour boundary while the test runs.
    if (Date.now() % 3_600_000 > 3_590_000) await new Promise((r) => setTimeout(r, 11_000));
    const dir = home();
    const latest = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const state = {
      ...emptyJobState(),
      last_slot: new Date(latest - 5 * 3_600_000).toISOString(),
      missed_runs: 1,
    };
    writeStateFile(dir, { version: 1, jobs: { hourly: state } });
    const logs: LogRecord[] = [];
    const { scheduler, sink } = start(
      dir,
      [job({ id: "hourly", schedule: "every 1h", message: "report", deliver: ["probe:a"], catchup })],
      { logs },
    );
    await waitFor("the holder", () => scheduler.role === "holder");
    const expected = [4, 3, 2, 1, 0].map((h) => new Date(latest - h * 3_600_000).toISOString());
    return { dir, sink, logs, expected };
  }

  it("skip: none run, all five counted and logged with the job's name", async () => {
    const { dir, sink, logs, expected } = await downFiveHours("skip");
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.messages).toEqual([]);
    expect(readStateFile(dir).jobs.hourly).toMatchObject({ missed_runs: 6, last_slot: expected[4] });
    expect(logs.find((r) => r.event === "cron.missed")?.msg).toMatch(
      /^job hourly: 5 slots came due while no scheduler/,
    );
  });

  it("once: the latest runs once, four are missed", async () => {
    const { dir, sink, expected } = await downFiveHours("once");
    await waitFor("the run", () => sink.messages.length === 1);
    expect(slotOf(sink.messages[0]!.id)).toBe(expected[4]);
    await waitFor("its state", () => readStateFile(dir).jobs.hourly?.last_status === "ok");
    expect(readStateFile(dir).jobs.hourly).toMatchObject({ missed_runs: 5, last_slot: expected[4] });
  });

  it("all: each runs, in order, none missed", async () => {
    const { dir, sink, expected } = await downFiveHours("all");
    await waitFor("five runs", () => sink.messages.length === 5);
    expect(sink.messages.map((m) => slotOf(m.id))).toEqual(expected);
    await waitFor("its state", () => readStateFile(dir).jobs.hourly?.last_status === "ok");
    expect(readStateFile(dir).jobs.hourly).toMatchObject({
      missed_runs: 1,
      running: null,
      last_slot: expected[4],
    });
  });

  it("a job seen for the first time has missed nothing", async () => {
    const dir = home();
    const { scheduler, sink } = start(dir, [
      job({ id: "new", schedule: "every 1h", message: "x", deliver: ["probe:a"] }),
    ]);
    await waitFor("the holder", () => scheduler.role === "holder");
    expect(sink.messages).toEqual([]);
    expect(readStateFile(dir).jobs.new).toMatchObject({
      missed_runs: 0,
      last_slot: new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000).toISOString(),
    });
  });

  it("a run that was in progress when its scheduler died is an interrupted error, never run again", async () => {
    const dir = home();
    const slot = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000).toISOString();
    // What that run left behind: a process carrying the job's id and slot.
    const leftover = spawn("sleep", ["30"], {
      env: { ...process.env, HERMES_JOB_ID: "backup", HERMES_JOB_SLOT: slot },
      stdio: "ignore",
    });
    const gone = new Promise((resolve) => leftover.once("exit", resolve));
    writeStateFile(dir, {
      version: 1,
      jobs: {
        backup: {
          ...emptyJobState(),
          last_slot: slot,
          last_status: "running",
          running: { slot, started_at: slot, pid: 999_999 },
        },
      },
    });
    const { scheduler, sink, logs } = start(dir, [
      job({
        id: "backup",
        schedule: "every 1h",
        command: "echo done",
        deliver: ["probe:a"],
        failure_deliver: ["probe:alerts"],
      }),
    ]);
    await waitFor("the holder", () => scheduler.role === "holder");
    await gone;
    const state = readStateFile(dir).jobs.backup!;
    expect(state).toMatchObject({ last_status: "error", running: null, last_slot: slot });
    expect(state.last_error).toMatch(
      /^interrupted: the scheduler \(pid 999999\) stopped .*1 process\(es\) it left were ended$/,
    );
    await waitFor("the notice", () => sink.messages.length === 1);
    expect(sink.messages[0]).toMatchObject({ target: "probe:alerts", id: `cron:backup:${slot}:error:0` });
    expect(sink.messages.some((m) => m.target === "probe:a")).toBe(false);
    expect(logs.some((r) => r.event === "cron.interrupted" && r.job === "backup")).toBe(true);
  });
});

describe("the scheduler lock", () => {
  it("one holder fires; the other stands by, says who holds it, refuses to run; it takes over when freed", async () => {
    const dir = home();
    const jobs = [job({ id: "tick", schedule: "every 1s", message: "t", deliver: ["probe:a"] })];
    const shared = memorySink();
    const a = start(dir, jobs, { sink: shared, kind: "gateway" });
    await a.started;
    const b = start(dir, jobs, { sink: shared, kind: "cron-serve" });
    await b.started;
    expect([a.scheduler.role, b.scheduler.role]).toEqual(["holder", "standby"]);
    expect(b.scheduler.view()).toMatchObject({ alive: false, holder: { pid: process.pid, kind: "gateway" } });
    expect(JSON.parse(readFileSync(cronPaths(dir).lock, "utf8"))).toMatchObject({
      pid: process.pid,
      kind: "gateway",
    });
    expect(await b.scheduler.runNow("tick")).toEqual({
      status: 503,
      body: { error: `this process is not the scheduler; the holder is pid ${process.pid}` },
    });
    await waitFor("two results", () => shared.messages.length >= 2);
    await a.scheduler.stop(Date.now());
    a.scheduler.releaseLock();
    const before = shared.messages.length;
    await waitFor("the takeover", () => b.scheduler.role === "holder");
    expect(b.logs.some((r) => r.event === "cron.holder" && /took over/.test(r.msg))).toBe(true);
    await waitFor("a result from the new holder", () => shared.messages.length > before + 1);
    const ids = shared.messages.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("jobs.json", () => {
  it("is re-read when it changes; a corrupt one is kept aside and reported once, with its path", async () => {
    const dir = home();
    const logs: LogRecord[] = [];
    const { scheduler, sink } = start(dir, [], { logs });
    await waitFor("the holder", () => scheduler.role === "holder");
    mkdirSync(join(dir, "cron"), { recursive: true });
    writeFileSync(
      cronPaths(dir).jobs,
      JSON.stringify({
        version: 1,
        jobs: [{ id: "added", schedule: "every 1s", message: "hi", deliver: "probe:a" }],
      }),
    );
    await waitFor(
      "the new job to fire",
      () => sink.messages.some((m) => m.id.startsWith("cron:added:")),
      8000,
    );
    expect(scheduler.view().jobs.map((j) => [j.id, j.source])).toEqual([["added", "cli"]]);
    writeFileSync(cronPaths(dir).jobs, "{ not json");
    await waitFor("the report", () => logs.find((r) => r.event === "cron.jobs_corrupt"));
    await waitFor("the job gone", () => scheduler.view().jobs.length === 0);
    const kept = readdirSync(join(dir, "cron")).filter((n) => n.startsWith("jobs.json.corrupt-"));
    expect(kept).toHaveLength(1);
    expect(readFileSync(join(dir, "cron", kept[0]!), "utf8")).toBe("{ not json");
    expect(existsSync(cronPaths(dir).jobs)).toBe(false);
    const report = logs.find((r) => r.event === "cron.jobs_corrupt")!;
    expect(report.msg).toContain(cronPaths(dir).jobs);
    expect(report.msg).toContain(kept[0]);
    await new Promise((r) => setTimeout(r, 2500));
    expect(logs.filter((r) => r.event === "cron.jobs_corrupt")).toHaveLength(1);
  }, 20_000);

  it("a config job wins over a jobs.json job with its id, and the other is reported", async () => {
    const dir = home();
    mkdirSync(join(dir, "cron"), { recursive: true });
    writeFileSync(
      cronPaths(dir).jobs,
      JSON.stringify({ version: 1, jobs: [{ id: "dup", schedule: "every 1h", message: "file" }] }),
    );
    const logs: LogRecord[] = [];
    const { scheduler } = start(dir, [job({ id: "dup", schedule: "every 2h", message: "config" })], { logs });
    await waitFor("the holder", () => scheduler.role === "holder");
    expect(scheduler.view().jobs).toMatchObject([{ id: "dup", schedule: "every 2h", source: "config" }]);
    expect(logs.some((r) => r.event === "cron.jobs" && /job "dup" in .*jobs\.json/.test(r.msg))).toBe(true);
  });
});
