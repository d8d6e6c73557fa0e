/** Snapshots are written atomically: temp file, fsync, rename, directory fsync. A crash leaves old or new, never half. */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";

/** Creates a directory (and its parents) with mode 0700, as every hermes directory is. */
export function ensureDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
}

let counter = 0;

export function writeFileAtomic(
  path: string,
  data: string,
  options: { mode?: number; durable?: boolean } = {},
): void {
  const dir = dirname(path);
  const temp = join(dir, `.${process.pid}.${counter++}.tmp`);
  const fd = openSync(temp, "w", options.mode ?? 0o600);
  try {
    writeSync(fd, data);
    if (options.durable !== false) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  if (options.durable !== false) fsyncDir(dir);
}

/** Makes a rename in `dir` durable. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
