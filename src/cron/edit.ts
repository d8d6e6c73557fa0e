/**
 * Changing `cron/jobs.json` from the CLI: read, change, write atomically, one writer at a time. A file that
 * cannot be read is never overwritten (nor moved: the user fixes it where it is).
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { ensureDir } from "../fs/atomic.ts";
import { isAlive } from "../gateway/control.ts";
import { cronPaths, readJobsFile, writeJobsFile } from "./files.ts";
import type { JobConfig } from "./types.ts";

export type Update<T> = (jobs: JobConfig[]) => { jobs?: JobConfig[]; result: T };

export type UpdateResult<T> = { ok: true; result: T } | { ok: false; message: string };

/**
 * Applies `update` to the jobs of `cron/jobs.json`; when it returns `jobs`, they replace the file's. Two
 * commands run at once (two `cron add` in a script) take turns, so neither loses the other's change.
 */
export async function updateJobsFile<T>(home: string, update: Update<T>): Promise<UpdateResult<T>> {
  const release = await lockJobsFile(home);
  try {
    const read = readJobsFile(home, { keepAside: false });
    if (!read.ok)
      return {
        ok: false,
        message: `${read.message}; hermes does not change a jobs file it cannot read: fix it (hermes lint config shows where) or move it away`,
      };
    const { jobs, result } = update(read.jobs);
    if (jobs) writeJobsFile(home, jobs);
    return { ok: true, result };
  } finally {
    release();
  }
}

const LOCK_WAIT_MS = 5000;

/** `cron/jobs.json.lock`, created exclusively and holding the writer's pid; a dead writer's lock is taken over. */
async function lockJobsFile(home: string): Promise<() => void> {
  const { dir, jobs } = cronPaths(home);
  ensureDir(dir);
  const path = `${jobs}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number.parseInt(readText(path), 10);
    // An empty file is a writer between creating and writing it; give it a moment before calling it dead.
    if ((Number.isInteger(holder) && !isAlive(holder)) || Date.now() > deadline) {
      rmSync(path, { force: true });
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
