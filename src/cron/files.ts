/**
 * `cron/jobs.json` and `cron/state.json`. Both are written atomically. A jobs file that cannot be read back is
 * never emptied: it is moved aside (its new name is reported) and treated as holding no jobs until fixed.
 */
import { existsSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { job as jobSchema } from "../config/schema.ts";
import { ensureDir, writeFileAtomic } from "../fs/atomic.ts";
import { type CronStateFile, emptyJobState, type JobConfig, type JobState, type JobsFile } from "./types.ts";

export function cronPaths(home: string) {
  const dir = join(home, "cron");
  return {
    dir,
    jobs: join(dir, "jobs.json"),
    state: join(dir, "state.json"),
    /** The scheduler lock: whoever holds it fires jobs. */
    lock: join(home, "run", "cron.lock"),
  };
}

export type JobsFileRead =
  | { ok: true; jobs: JobConfig[] }
  /** `keptAs`: where the unreadable file was moved (absent when `keepAside` was false). */
  | { ok: false; path: string; message: string; keptAs?: string };

/**
 * Reads `cron/jobs.json` (a missing file holds no jobs). With `keepAside`, an unreadable file is renamed to
 * `jobs.json.corrupt-<time>` so that the next write cannot lose what it held.
 */
export function readJobsFile(home: string, options: { keepAside?: boolean } = {}): JobsFileRead {
  const path = cronPaths(home).jobs;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { ok: true, jobs: [] };
    return { ok: false, path, message: `cannot read ${path}: ${(error as Error).message}` };
  }
  const problem = validate(text);
  if (problem === undefined) return { ok: true, jobs: (JSON.parse(text) as JobsFile).jobs };
  const message = `${path} is not a valid jobs file: ${problem}`;
  if (!options.keepAside) return { ok: false, path, message };
  const keptAs = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  try {
    renameSync(path, keptAs);
    return { ok: false, path, message, keptAs };
  } catch {
    return { ok: false, path, message };
  }
}

function validate(text: string): string | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  if (typeof data !== "object" || data === null || !Array.isArray((data as { jobs?: unknown }).jobs))
    return 'expected {"version": 1, "jobs": [...]}';
  for (const [i, entry] of (data as { jobs: unknown[] }).jobs.entries()) {
    const result = v.safeParse(jobSchema, entry);
    if (!result.success) {
      const issue = result.issues[0];
      const key = issue.path?.map((p) => String(p.key)).join(".");
      return `jobs[${i}]${key ? `.${key}` : ""}: ${issue.message}`;
    }
  }
  return undefined;
}

export function writeJobsFile(home: string, jobs: JobConfig[]): void {
  const { dir, jobs: path } = cronPaths(home);
  ensureDir(dir);
  const file: JobsFile = { version: 1, jobs };
  writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`);
}

/** Reads `cron/state.json`; a missing or unreadable file is an empty state (run state can be rebuilt). */
export function readStateFile(home: string): CronStateFile {
  const path = cronPaths(home).state;
  if (!existsSync(path)) return { version: 1, jobs: {} };
  try {
    const data = JSON.parse(readFileSync(path, "utf8")) as CronStateFile;
    const jobs: Record<string, JobState> = {};
    for (const [id, state] of Object.entries(data.jobs ?? {})) jobs[id] = { ...emptyJobState(), ...state };
    return { version: 1, jobs };
  } catch {
    return { version: 1, jobs: {} };
  }
}

export function writeStateFile(home: string, state: CronStateFile): void {
  const { dir, state: path } = cronPaths(home);
  ensureDir(dir);
  writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`);
}
