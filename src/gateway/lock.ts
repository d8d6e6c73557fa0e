/**
 * The single-instance lock, `run/gateway.lock`: exactly one gateway per HERMES_HOME, even when several start at
 * the same instant. On Bun and Deno it is flock(2), which the kernel releases when the holder dies, however it
 * dies. Node cannot flock: there the lock file is created exclusively and holds "pid starttime"; a file whose
 * process is gone (or is another process that reused the pid) is stale and taken over at once.
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Runtime } from "../runtime/types.ts";

export type LockResult =
  | { ok: true; path: string; release(): void }
  | { ok: false; path: string; holder: number | null };

export async function acquireLock(
  runDir: string,
  runtime: Runtime,
  options: { waitMs?: number } = {},
): Promise<LockResult> {
  const path = join(runDir, "gateway.lock");
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    const result = tryOnce(path, runtime);
    if (result.ok || Date.now() >= deadline) return result;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function tryOnce(path: string, runtime: Runtime): LockResult {
  let flocked: boolean | undefined;
  try {
    flocked = runtime.tryFlock(path);
  } catch (error) {
    // An open() through FFI carries no errno: open the file the Node way, whose error names the cause.
    closeSync(openSync(path, "a", 0o600));
    throw error;
  }
  if (flocked === false) return { ok: false, path, holder: readHolder(path) };
  if (flocked === true) {
    // A Node gateway holds the file without flock ("file" in it): respect it while it lives. Any other pid in
    // the file is a flock holder that has let go, i.e. a process that has exited or is exiting.
    const [pid, start, kind] = readText(path).split(/\s+/);
    const holder = Number.parseInt(pid ?? "", 10);
    if (kind === "file" && holder !== process.pid && isAlive(holder, start))
      return { ok: false, path, holder };
    writeFileSync(path, `${process.pid} ${startTime(process.pid) ?? "-"} flock\n`, { mode: 0o600 });
    return { ok: true, path, release() {} };
  }
  return tryLockFile(path);
}

function tryLockFile(path: string): LockResult {
  for (let round = 0; round < 3; round++) {
    let fd: number;
    try {
      fd = openSync(path, "wx", 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = readHolder(path, 1);
      if (holder !== null && isAlive(holder, readStart(path))) return { ok: false, path, holder };
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
    writeSync(fd, `${process.pid} ${startTime(process.pid) ?? "-"} file\n`);
    closeSync(fd);
    return {
      ok: true,
      path,
      release() {
        if (readHolder(path, 1) === process.pid) rmSync(path, { force: true });
      },
    };
  }
  return { ok: false, path, holder: readHolder(path) };
}

/** The pid written in the lock file; a winner writes it just after locking, so an empty file is re-read briefly. */
function readHolder(path: string, tries = 20): number | null {
  for (let i = 0; i < tries; i++) {
    const pid = Number.parseInt(readText(path).split(/\s+/)[0] ?? "", 10);
    if (Number.isInteger(pid) && pid > 0) return pid;
    const until = Date.now() + 5;
    while (Date.now() < until) {
      // brief spin: a synchronous wait of a few ms while the winner writes its pid
    }
  }
  return null;
}

function readStart(path: string): string | undefined {
  const start = readText(path).split(/\s+/)[1];
  return start && start !== "-" ? start : undefined;
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
