import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Runtime } from "../runtime/types.ts";
import { acquireLock } from "./lock.ts";

// Node cannot flock: these exercise the lock-file fallback (the flock path is exercised through the binary).
const noFlock = { tryFlock: () => undefined } as unknown as Runtime;
const dirs: string[] = [];
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), "hermes-lock-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("the lock file fallback", () => {
  it("takes a free lock, and refuses a second taker while the holder lives", async () => {
    const run = dir();
    const first = await acquireLock(run, noFlock);
    expect(first.ok).toBe(true);
    expect(readFileSync(join(run, "gateway.lock"), "utf8")).toMatch(
      new RegExp(`^${process.pid} \\d+ file\\n$`),
    );
    const second = await acquireLock(run, noFlock);
    expect(second).toMatchObject({ ok: false, holder: process.pid });
    if (first.ok) first.release();
    expect((await acquireLock(run, noFlock)).ok).toBe(true);
  });

  it("takes over a lock whose process is gone, or whose pid now belongs to another process", async () => {
    const run = dir();
    writeFileSync(join(run, "gateway.lock"), "999999999 12345 file\n");
    expect((await acquireLock(run, noFlock)).ok).toBe(true);
    const reused = dir();
    writeFileSync(join(reused, "gateway.lock"), `${process.pid} 1 file\n`);
    expect((await acquireLock(reused, noFlock)).ok).toBe(true);
  });

  it("waits for the lock when asked to", async () => {
    const run = dir();
    const first = await acquireLock(run, noFlock);
    setTimeout(() => first.ok && first.release(), 150);
    const started = Date.now();
    const second = await acquireLock(run, noFlock, { waitMs: 2000 });
    expect(second.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });
});
