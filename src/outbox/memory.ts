/**
 * A minimal in-memory delivery path: per platform, messages go out in order through the platform's connected
 * adapter, retried with backoff on network errors, 5xx and 429 (honouring the wait it asks for), and become dead
 * letters after the TTL or on an error retrying cannot fix. The durable outbox replaces it.
 */
import { randomUUID } from "node:crypto";
import { backoffDelay } from "../gateway/backoff.ts";
import type { Metrics } from "../gateway/metrics.ts";
import type { Logger } from "../log/logger.ts";
import { type Adapter, type OutboundMessage, PlatformError } from "../platforms/adapter.ts";

export interface OutboxOptions {
  ttlMs: number;
  /** The connected adapter of a platform, or undefined while it is not connected. */
  adapterFor(platform: string): Adapter | undefined;
  log: Logger;
  metrics: Metrics;
  retry?: { initialMs: number; maxMs: number };
}

interface Entry {
  message: OutboundMessage;
  acceptedAt: number;
  attempts: number;
}

export class MemoryOutbox {
  readonly #queues = new Map<string, Entry[]>();
  readonly #running = new Set<string>();
  readonly #wakers = new Map<string, () => void>();
  #dead = 0;
  #stopped = false;

  constructor(readonly options: OutboxOptions) {}

  enqueue(message: Omit<OutboundMessage, "id"> & { id?: string }): string {
    const entry: Entry = {
      message: { ...message, id: message.id ?? randomUUID() },
      acceptedAt: Date.now(),
      attempts: 0,
    };
    const queue = this.#queues.get(message.platform) ?? [];
    queue.push(entry);
    this.#queues.set(message.platform, queue);
    this.#gauge();
    this.#pump(message.platform);
    return entry.message.id;
  }

  /** A platform became connected: try its queue now. */
  wake(platform: string): void {
    this.#wakers.get(platform)?.();
    this.#pump(platform);
  }

  pending(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.length;
    return n;
  }

  dead(): number {
    return this.#dead;
  }

  /** Resolves when every queue is empty, or at the deadline. */
  async drain(deadline: number): Promise<void> {
    while (this.pending() > 0 && Date.now() < deadline)
      await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
  }

  stop(): void {
    this.#stopped = true;
    for (const wake of this.#wakers.values()) wake();
  }

  #gauge(): void {
    this.options.metrics.set(
      "hermes_outbox_pending",
      "Messages accepted for delivery and not yet delivered",
      {},
      this.pending(),
    );
    this.options.metrics.set("hermes_outbox_dead", "Messages that could not be delivered", {}, this.#dead);
  }

  #pump(platform: string): void {
    if (this.#running.has(platform) || this.#stopped) return;
    this.#running.add(platform);
    void this.#deliver(platform).finally(() => this.#running.delete(platform));
  }

  async #deliver(platform: string): Promise<void> {
    const queue = this.#queues.get(platform) ?? [];
    const { log, metrics, ttlMs } = this.options;
    const retry = this.options.retry ?? { initialMs: 1000, maxMs: 60_000 };
    while (queue.length > 0 && !this.#stopped) {
      const entry = queue[0]!;
      if (Date.now() - entry.acceptedAt > ttlMs) {
        queue.shift();
        this.#deadLetter(entry, "not delivered within outbox_ttl");
        continue;
      }
      const adapter = this.options.adapterFor(platform);
      if (!adapter) {
        await this.#wait(platform, Math.max(1, entry.acceptedAt + ttlMs - Date.now()));
        continue;
      }
      try {
        entry.attempts++;
        await adapter.send(entry.message);
        queue.shift();
        metrics.inc("hermes_messages_out_total", "Messages delivered to platforms", { platform });
        this.#gauge();
      } catch (error) {
        const e = error instanceof PlatformError ? error : new PlatformError("transient", String(error));
        if (e.kind === "protocol" || e.kind === "auth") {
          queue.shift();
          this.#deadLetter(entry, e.message);
          continue;
        }
        const wait = e.retryAfterMs ?? backoffDelay(entry.attempts, retry);
        log.warn("outbox.retry", `delivery to ${platform} failed (${e.message}); retrying in ${wait} ms`, {
          platform,
          message_id: entry.message.id,
          attempt: entry.attempts,
        });
        await this.#wait(platform, wait);
      }
    }
  }

  #deadLetter(entry: Entry, reason: string): void {
    this.#dead++;
    this.#gauge();
    this.options.log.error(
      "outbox.dead",
      `message ${entry.message.id} to ${entry.message.platform} is a dead letter: ${reason}`,
      {
        platform: entry.message.platform,
        message_id: entry.message.id,
        reason,
      },
    );
  }

  #wait(platform: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wakers.set(platform, done);
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
