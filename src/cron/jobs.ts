/**
 * Where jobs come from: `cron.jobs` in config.yaml (source `config`) and `cron/jobs.json` (source `cli`), merged,
 * and the watch on `cron/jobs.json` that re-reads it when it changes: fs.watch on the `cron/` directory (the CLI
 * replaces the file by renaming a new one over it), with a periodic stat as a fallback for file systems where
 * fs.watch says nothing, both debounced into one re-read.
 */
import { type FSWatcher, statSync, watch } from "node:fs";
import * as v from "valibot";
import { job as jobSchema } from "../config/schema.ts";
import { ensureDir } from "../fs/atomic.ts";
import type { Logger } from "../log/logger.ts";
import { cronPaths, readJobsFile } from "./files.ts";
import type { Job, JobConfig } from "./types.ts";

export interface MergedJobs {
  jobs: Job[];
  /** One sentence per job of cron/jobs.json left out because config.yaml has a job with its id. */
  shadowed: string[];
}

/** Config jobs first; a jobs.json job whose id is taken (by config.yaml, or earlier in the file) is left out. */
export function mergeJobs(configJobs: JobConfig[], fileJobs: JobConfig[], jobsPath: string): MergedJobs {
  const jobs: Job[] = [];
  const shadowed: string[] = [];
  const seen = new Set<string>();
  for (const job of configJobs) {
    if (seen.has(job.id)) continue; // a duplicate in config.yaml is a lint error; the first one runs
    seen.add(job.id);
    jobs.push({ ...job, source: "config" });
  }
  for (const job of fileJobs) {
    if (seen.has(job.id)) {
      shadowed.push(
        `job "${job.id}" in ${jobsPath} has the id of a job in config.yaml (or an earlier one in the file); the first one is used, this one is ignored`,
      );
      continue;
    }
    seen.add(job.id);
    jobs.push({ ...job, source: "cli" });
  }
  return { jobs, shadowed };
}

/** How often the jobs file is stat()ed when fs.watch says nothing. */
export const STAT_EVERY_MS = 2000;
const DEBOUNCE_MS = 100;

/**
 * Reads `cron/jobs.json` now and whenever it changes, handing its jobs to `changed`. A corrupt file is moved
 * aside (never emptied) and reported once, loudly, with its path and where it was kept; its jobs are absent
 * until it is fixed.
 */
export class JobsFileWatcher {
  #jobs: JobConfig[] = [];
  #signature = "";
  #watcher: FSWatcher | undefined;
  #poll: ReturnType<typeof setInterval> | undefined;
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #reported = "";

  constructor(
    readonly home: string,
    readonly log: Logger,
    readonly changed: (jobs: JobConfig[]) => void,
  ) {}

  get jobs(): JobConfig[] {
    return this.#jobs;
  }

  /** Reads the file once, then watches it. */
  start(): void {
    this.#read();
    const { dir } = cronPaths(this.home);
    try {
      ensureDir(dir);
      this.#watcher = watch(dir, { persistent: false }, (_event, name) => {
        if (name === null || String(name).startsWith("jobs.json")) this.#soon();
      });
      this.#watcher.on("error", () => {
        // The periodic stat still notices changes.
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch {
      // No fs.watch here (or no directory yet): the periodic stat is enough.
    }
    this.#poll = setInterval(() => {
      if (signature(cronPaths(this.home).jobs) !== this.#signature) this.#soon();
    }, STAT_EVERY_MS);
    this.#poll.unref?.();
  }

  stop(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    clearInterval(this.#poll);
    clearTimeout(this.#debounce);
  }

  /** Re-reads now (SIGHUP). */
  reread(): void {
    this.#read();
  }

  #soon(): void {
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => this.#read(), DEBOUNCE_MS);
    this.#debounce.unref?.();
  }

  #read(): void {
    const path = cronPaths(this.home).jobs;
    const before = signature(path);
    if (before === this.#signature && this.#signature !== "") return;
    const result = readJobsFile(this.home, { keepAside: true });
    this.#signature = signature(path);
    if (!result.ok) {
      const report = `${result.message}${result.keptAs ? `; it was moved to ${result.keptAs}` : ""}`;
      if (report !== this.#reported) {
        this.#reported = report;
        this.log.error(
          "cron.jobs_corrupt",
          `${report}. Its jobs are not scheduled until it is fixed${result.keptAs ? ` (fix the kept copy and move it back to ${path})` : ""}.`,
          { path, kept_as: result.keptAs ?? null },
        );
      }
      this.#set([]);
      return;
    }
    this.#reported = "";
    // The file holds jobs as written in config.yaml (durations such as "10m"): the schema gives their values.
    const jobs: JobConfig[] = [];
    for (const raw of result.jobs) {
      const parsed = v.safeParse(jobSchema, raw);
      if (parsed.success) jobs.push(parsed.output);
    }
    this.#set(jobs);
  }

  #set(jobs: JobConfig[]): void {
    if (JSON.stringify(jobs) === JSON.stringify(this.#jobs)) return;
    this.#jobs = jobs;
    this.changed(jobs);
  }
}

/** What changes when the file is replaced or written: inode, size and modification time ("" when absent). */
function signature(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return "absent";
  }
}
