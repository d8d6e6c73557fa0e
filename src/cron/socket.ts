/**
 * `run/cron.sock`: the control socket of the `hermes cron serve` that holds the scheduler lock (a standby `cron
 * serve` has none; a gateway uses its own `run/gateway.sock`). When the path would exceed the unix socket limit, a
 * short path derived from HERMES_HOME is used instead, so that any reader computes the same one.
 */
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function cronSocketPath(home: string): string {
  const preferred = join(home, "run", "cron.sock");
  if (Buffer.byteLength(preferred) <= 100) return preferred;
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  const dir = join(tmpdir(), `hermes-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return join(dir, `${createHash("sha256").update(home).digest("hex").slice(0, 16)}-cron.sock`);
}
