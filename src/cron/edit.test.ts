import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { afterEach, describe, expect, it } from "vitest";
import { job as jobSchema } from "../config/schema.ts";
import { updateJobsFile } from "./edit.ts";
import { cronPaths, readJobsFile } from "./files.ts";
import type { JobConfig } from "./types.ts";

const homes: string[] = [];
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

function home(jobsText?: string): string {
  const dir = mkdtempSync(join(tmpdir(), "hermes-edit-"));
  homes.push(dir);
  if (jobsText !== undefined) {
    mkdirSync(join(dir, "cron"), { mode: 0o700 });
    writeFileSync(join(dir, "cron", "jobs.json"), jobsText);
  }
  return dir;
}

const job = (id: string, extra: Record<string, unknown> = {}): JobConfig =>
  v.parse(jobSchema, { id, schedule: "every 1h", message: id, ...extra });

const add = (dir: string, j: JobConfig) =>
  updateJobsFile(dir, (jobs) => ({ jobs: [...jobs, j], result: j.id }));

describe("updateJobsFile", () => {
  it("creates cron/jobs.json (0600 in a 0700 directory) and reads back the same jobs", async () => {
    const dir = home();
    const written = job("a", { timeout: "1h30m", timezone: "Europe/Berlin", deliver: ["webhook:x"] });
    expect(await add(dir, written)).toEqual({ ok: true, result: "a" });
    expect(readJobsFile(dir)).toEqual({ ok: true, jobs: [written] });
    // 90 minutes on disk as a duration, so that the schema reads it back as 90 minutes, not 5.4 million seconds.
    expect(JSON.parse(readFileSync(cronPaths(dir).jobs, "utf8")).jobs[0].timeout).toBe("90m");
    expect(statSync(cronPaths(dir).jobs).mode & 0o777).toBe(0o600);
    expect(statSync(cronPaths(dir).dir).mode & 0o777).toBe(0o700);
    // Nothing is left beside it: no temp file, no lock.
    expect(readdirSync(cronPaths(dir).dir)).toEqual(["jobs.json"]);
  });

  it("writes nothing when the update returns no jobs", async () => {
    const dir = home();
    expect(await updateJobsFile(dir, () => ({ result: "unchanged" }))).toEqual({
      ok: true,
      result: "unchanged",
    });
    expect(readdirSync(cronPaths(dir).dir)).toEqual([]);
  });

  it("never overwrites, empties or moves a file it cannot read", async () => {
    for (const text of ["{ not json", '{"version":1,"jobs":[{"id":"x"}]}', '{"jobs": 3}']) {
      const dir = home(text);
      let called = false;
      const result = await updateJobsFile(dir, () => {
        called = true;
        return { jobs: [], result: undefined };
      });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.message).toContain(`${cronPaths(dir).jobs} is not a valid jobs file`);
      expect(called).toBe(false);
      expect(readFileSync(cronPaths(dir).jobs, "utf8")).toBe(text);
      expect(readdirSync(cronPaths(dir).dir)).toEqual(["jobs.json"]);
    }
  });

  it("lets concurrent changes take turns, so none is lost", async () => {
    const dir = home();
    const ids = Array.from({ length: 8 }, (_, i) => `job${i}`);
    await Promise.all(ids.map((id) => add(dir, job(id))));
    const read = readJobsFile(dir);
    expect(read.ok && read.jobs.map((j) => j.id).sort()).toEqual(ids);
  });

  it("takes over the lock of a writer that died", async () => {
    const dir = home();
    mkdirSync(cronPaths(dir).dir, { recursive: true });
    // A pid above the kernel's maximum belongs to no process.
    writeFileSync(`${cronPaths(dir).jobs}.lock`, `${2 ** 22 + 1}\n`);
    expect(await add(dir, job("a"))).toEqual({ ok: true, result: "a" });
    expect(readdirSync(cronPaths(dir).dir)).toEqual(["jobs.json"]);
  });
});
