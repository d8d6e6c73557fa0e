/**
 * `state/gateway.json`, rewritten atomically on every transition (writes that come in a burst are coalesced, the
 * last state always lands), and `state/heartbeat`, rewritten every 5 s so a reader can tell a dead gateway from
 * an idle one.
 */
import { join } from "node:path";
import { writeFileAtomic } from "../fs/atomic.ts";

export const HEARTBEAT_MS = 5_000;
const COALESCE_MS = 50;

export class StateFiles {
  readonly gatewayPath: string;
  readonly heartbeatPath: string;
  #pending: unknown;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;

  constructor(stateDir: string) {
    this.gatewayPath = join(stateDir, "gateway.json");
    this.heartbeatPath = join(stateDir, "heartbeat");
  }

  write(snapshot: unknown): void {
    this.#pending = snapshot;
    this.#timer ??= setTimeout(() => this.flush(), COALESCE_MS);
  }

  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending === undefined) return;
    const snapshot = this.#pending;
    this.#pending = undefined;
    try {
      writeFileAtomic(this.gatewayPath, `${JSON.stringify(snapshot, null, 2)}\n`);
    } catch {
      // A full disk must not stop the gateway; the next transition tries again.
    }
  }

  startHeartbeat(pid: number): void {
    const beat = () => {
      try {
        writeFileAtomic(this.heartbeatPath, `${JSON.stringify({ pid, at: new Date().toISOString() })}\n`, {
          durable: false,
        });
      } catch {
        // as above
      }
    };
    beat();
    this.#heartbeat = setInterval(beat, HEARTBEAT_MS);
  }

  stopHeartbeat(): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }
}
