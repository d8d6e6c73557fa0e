/**
 * The single-instance lock, `run/gateway.lock`: exactly one gateway per HERMES_HOME, even when several start at
 * the same instant. On Bun and Deno it is flock(2), which the kernel releases when the holder dies, however it
 * dies. Node cannot flock: there the lock file is created exclusively and holds the holder's pid and start time;
 * a file whose process is gone (or is another process that reused the pid) is stale and taken over at once.
 * The scheduler lock (`run/cron.lock`, src/cron/lock.ts) is the same mechanism with another content format.
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Runtime } from "../runtime/types.ts";

export type LockResult =
  | { ok: true; path: string; release(): void }
  | { ok: false; path: string; holder: number | null };

/** How a lock file names its holder: `mode` is "flock" (the kernel holds it) or "file" (the Node fallback). */
export interface LockFormat {
  encode(mode: "flock" | "file"): string;
  decode(text: string): { pid: number | null; start?: string; mode?: string };
}

/** `run/gateway.lock`: "pid starttime mode". */
export const GATEWAY_LOCK_FORMAT: LockFormat = {
  encode: (mode) => `${process.pid} ${startTime(process.pid) ?? "-"} ${mode}\n`,
  decode(text) {
    const [pid, start, mode] = text.split(/\s+/);
    const n = Number.parseInt(pid ?? "", 10);
    return {
      pid: Number.isInteger(n) && n > 0 ? n : null,
      start: start && start !== "-" ? start : undefined,
      mode,
    };
  },
};

export async function acquireLock(
  runDir: string,
  runtime: Runtime,
  options: { waitMs?: number } = {},
): Promise<LockResult> {
  return acquireLockFile(join(runDir, "gateway.lock"), runtime, GATEWAY_LOCK_FORMAT, options);
}

/** Takes the lock at `path`, writing `format`'s content, waiting up to `waitMs` for it. */
export async function acquireLockFile(
  path: string,
  runtime: Runtime,
  format: LockFormat,
  options: { waitMs?: number } = {},
): Promise<LockResult> {
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    const result = tryOnce(path, runtime, format);
    if (result.ok || Date.now() >= deadline) return result;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The pid of the live process holding the lock at `path` according to its content, or null. */
export function lockHolder(path: string, format: LockFormat): number | null {
  const { pid, start } = format.decode(readText(path));
  return pid !== null && isAlive(pid, start) ? pid : null;
}

function tryOnce(path: string, runtime: Runtime, format: LockFormat): LockResult {
  let flocked: boolean | undefined;
  try {
    flocked = runtime.tryFlock(path);
  } catch (error) {
    // An open() through FFI carries no errno: open the file the Node way, whose error names the cause.
    closeSync(openSync(path, "a", 0o600));
    throw error;
  }
  if (flocked === false) return { ok: false, path, holder: readHolder(path, format) };
  if (flocked === true) {
    // A Node process holds the file without flock ("file" in it): respect it while it lives. Any other pid in
    // the file is a flock holder that has let go, i.e. a process that has exited or is exiting.
    const { pid: holder, start, mode } = format.decode(readText(path));
    if (mode === "file" && holder !== null && holder !== process.pid && isAlive(holder, start))
      return { ok: false, path, holder };
    writeFileSync(path, format.encode("flock"), { mode: 0o600 });
    return { ok: true, path, release() {} };
  }
  return tryLockFile(path, format);
}

function tryLockFile(path: string, format: LockFormat): LockResult {
  for (let round = 0; round < 3; round++) {
    let fd: number;
    try {
      fd = openSync(path, "wx", 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = readHolder(path, format, 1);
      if (holder !== null && isAlive(holder, format.decode(readText(path)).start))
        return { ok: false, path, holder };
      // Stale: move it aside first, so that of several starters exactly one takes it over.
      const aside = `${path}.stale.${process.pid}`;
      try {
        renameSync(path, aside);
        rmSync(aside, { force: true });
      } catch {
        // another starter moved it first
      }
      continue;
    }
    writeSync(fd, format.encode("file"));
    closeSync(fd);
    return {
      ok: true,
      path,
      release() {
        if (readHolder(path, format, 1) === process.pid) rmSync(path, { force: true });
      },
    };
  }
  return { ok: false, path, holder: readHolder(path, format) };
}

/** The pid written in the lock file; a winner writes it just after locking, so an empty file is re-read briefly. */
function readHolder(path: string, format: LockFormat, tries = 20): number | null {
  for (let i = 0; i < tries; i++) {
    const { pid } = format.decode(readText(path));
    if (pid !== null) return pid;
    const until = Date.now() + 5;
    while (Date.now() < until) {
      // brief spin: a synchronous wait of a few ms while the winner writes its pid
    }
  }
  return null;
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** The process exists (not as a zombie) and, where /proc tells, is the one that wrote the lock (not a reused pid). */
function isAlive(pid: number, start: string | undefined): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const stat = procStat(pid);
  if (stat && stat.state === "Z") return false;
  if (!start || start === "-" || !stat) return true;
  return stat.start === start;
}

function procStat(pid: number): { state: string; start: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { state: fields[0] ?? "", start: fields[19] ?? "" };
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
export function startTime(pid: number): string | undefined {
  return procStat(pid)?.start;
}
