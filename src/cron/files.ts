/**
 * `cron/jobs.json` and `cron/state.json`. Both are written atomically. A jobs file that cannot be read back is
 * never emptied: it is moved aside (its new name is reported) and treated as holding no jobs until fixed.
 */
import { existsSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { formatDuration } from "../config/duration.ts";
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
  const checked = validate(text);
  if (typeof checked !== "string") return { ok: true, jobs: checked };
  const message = `${path} is not a valid jobs file: ${checked}`;
  if (!options.keepAside) return { ok: false, path, message };
  const keptAs = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  try {
    renameSync(path, keptAs);
    return { ok: false, path, message, keptAs };
  } catch {
    return { ok: false, path, message };
  }
}

/**
 * The copies of `cron/jobs.json` a scheduler moved aside because it could not read them (oldest first): their jobs
 * do not run until the copy is fixed and moved back, so `hermes cron list` names them until then.
 */
export function keptAsideJobsFiles(home: string): string[] {
  const { dir } = cronPaths(home);
  try {
    return readdirSync(dir)
      .filter((name) => name.startsWith("jobs.json.corrupt-"))
      .sort()
      .map((name) => join(dir, name));
  } catch {
    return [];
  }
}

/** The jobs as the schema reads them (defaults applied, durations in ms), or what is wrong. */
function validate(text: string): JobConfig[] | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    // Some runtimes quote the text around the error; the file may hold a token in a command line.
    return (error as Error).message.replace(/, ".*is not valid JSON$/s, " (not valid JSON)");
  }
  if (typeof data !== "object" || data === null || !Array.isArray((data as { jobs?: unknown }).jobs))
    return 'expected {"version": 1, "jobs": [...]}';
  const jobs: JobConfig[] = [];
  for (const [i, entry] of (data as { jobs: unknown[] }).jobs.entries()) {
    const result = v.safeParse(jobSchema, entry);
    if (!result.success) {
      const issue = result.issues[0];
      const key = issue.path?.map((p) => String(p.key)).join(".");
      return `jobs[${i}]${key ? `.${key}` : ""}: ${issue.message}`;
    }
    jobs.push(result.output);
  }
  return jobs;
}

/**
 * A job as `cron/jobs.json` holds it: the timeout is a duration as config.yaml spells it (`10m`), since a bare
 * number there means seconds and the schema reads the file like config.yaml.
 */
export function jobForFile(job: JobConfig): Omit<JobConfig, "timeout"> & { timeout: string } {
  return { ...job, timeout: formatDuration(job.timeout) };
}

export function writeJobsFile(home: string, jobs: JobConfig[]): void {
  const { dir, jobs: path } = cronPaths(home);
  ensureDir(dir);
  const file = { version: 1, jobs: jobs.map(jobForFile) } satisfies Omit<JobsFile, "jobs"> & {
    jobs: unknown[];
  };
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
