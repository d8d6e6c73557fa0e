/**
 * The scheduler lock, `run/cron.lock`: whoever holds it fires jobs (the gateway, or `hermes cron serve`). Same
 * mechanism as the gateway's lock (flock on Bun and Deno, an exclusive pid file on Node); its content names the
 * holder as JSON: `{"pid", "kind", "since"}` (plus `start` and `mode`, which the Node fallback needs to tell a
 * live holder from a stale file).
 */
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { ensureDir } from "../fs/atomic.ts";
import { acquireLockFile, type LockFormat, type LockResult, lockHolder, startTime } from "../gateway/lock.ts";
import type { Runtime } from "../runtime/types.ts";
import { cronPaths } from "./files.ts";
import type { LockHolder, SchedulerKind } from "./types.ts";

function format(kind: SchedulerKind, since: string): LockFormat {
  return {
    encode: (mode) =>
      `${JSON.stringify({ pid: process.pid, kind, since, start: startTime(process.pid) ?? null, mode })}\n`,
    decode(text) {
      const data = parse(text);
      return { pid: data?.pid ?? null, start: data?.start ?? undefined, mode: data?.mode };
    },
  };
}

type Content = LockHolder & { start?: string | null; mode?: string };

function parse(text: string): Content | undefined {
  try {
    const data = JSON.parse(text) as Content;
    return Number.isInteger(data.pid) &&
      data.pid > 0 &&
      (data.kind === "gateway" || data.kind === "cron-serve")
      ? data
      : undefined;
  } catch {
    return undefined;
  }
}

/** One attempt at the scheduler lock (no waiting): a standby calls it again every second. */
export function tryAcquireSchedulerLock(
  home: string,
  runtime: Runtime,
  kind: SchedulerKind,
): Promise<LockResult & { since: string }> {
  const since = new Date().toISOString();
  ensureDir(dirname(cronPaths(home).lock));
  return acquireLockFile(cronPaths(home).lock, runtime, format(kind, since)).then((r) => ({ ...r, since }));
}

/** Who holds the scheduler lock, from the lock file, when that process is alive; else null. */
export function readSchedulerHolder(home: string): LockHolder | null {
  const lock = readSchedulerLock(home);
  return lock?.alive ? lock.holder : null;
}

/**
 * What the lock file says, and whether that process still lives (a holder that died leaves its file: `hermes cron
 * status` names it as the last holder). Null when there is no readable lock file.
 */
export function readSchedulerLock(home: string): { holder: LockHolder; alive: boolean } | null {
  const path = cronPaths(home).lock;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return null;
  }
  const data = parse(text);
  if (!data) return null;
  const holder = { pid: data.pid, kind: data.kind, since: data.since };
  return { holder, alive: lockHolder(path, format(data.kind, data.since)) === data.pid };
}
