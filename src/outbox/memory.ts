/**
 * A minimal in-memory delivery path: messages go out through the platform's connected adapter in order per chat,
 * several chats of a platform at once, retried with backoff on network errors, 5xx and 429 (honouring the wait
 * it asks for), and become dead letters after the TTL or on an error retrying cannot fix. The durable outbox
 * replaces it.
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
  /** A message reached its platform. */
  delivered?(platform: string): void;
  log: Logger;
  metrics: Metrics;
  retry?: { initialMs: number; maxMs: number };
  /** Chats of one platform delivered to at the same time. @default 16 */
  lanes?: number;
}

interface Entry {
  message: OutboundMessage;
  acceptedAt: number;
  attempts: number;
}

/** One chat's queue: delivered strictly in order, by at most one worker at a time. */
interface Chat {
  platform: string;
  chatId: string;
  entries: Entry[];
  busy: boolean;
}

export class MemoryOutbox {
  readonly #chats = new Map<string, Chat>();
  /** Per platform: chats with messages waiting for a free lane. */
  readonly #waiting = new Map<string, Chat[]>();
  readonly #active = new Map<string, number>();
  /** Workers parked until their platform connects (or their retry wait ends). */
  readonly #parked = new Map<string, Set<() => void>>();
  #pending = 0;
  #dead = 0;
  #stopped = false;

  constructor(readonly options: OutboxOptions) {}

  enqueue(message: Omit<OutboundMessage, "id"> & { id?: string }): string {
    const entry: Entry = {
      message: { ...message, id: message.id ?? randomUUID() },
      acceptedAt: Date.now(),
      attempts: 0,
    };
    const key = `${message.platform}\u0000${message.chatId}`;
    let chat = this.#chats.get(key);
    if (!chat) {
      chat = { platform: message.platform, chatId: message.chatId, entries: [], busy: false };
      this.#chats.set(key, chat);
    }
    chat.entries.push(entry);
    this.#pending++;
    this.#gauge();
    if (!chat.busy && chat.entries.length === 1) this.#ready(chat);
    return entry.message.id;
  }

  /** A platform became connected: its parked deliveries try again now. */
  wake(platform: string): void {
    for (const wake of this.#parked.get(platform) ?? []) wake();
  }

  pending(): number {
    return this.#pending;
  }

  dead(): number {
    return this.#dead;
  }

  /** Resolves when everything is delivered (or dead), or at the deadline. */
  async drain(deadline: number): Promise<void> {
    while (this.#pending > 0 && Date.now() < deadline)
      await sleep(Math.min(20, Math.max(1, deadline - Date.now())));
  }

  stop(): void {
    this.#stopped = true;
    for (const parked of this.#parked.values()) for (const wake of parked) wake();
  }

  #gauge(): void {
    this.options.metrics.set(
      "hermes_outbox_pending",
      "Messages accepted for delivery and not yet delivered",
      {},
      this.#pending,
    );
    this.options.metrics.set("hermes_outbox_dead", "Messages that could not be delivered", {}, this.#dead);
  }

  #ready(chat: Chat): void {
    const queue = this.#waiting.get(chat.platform) ?? [];
    queue.push(chat);
    this.#waiting.set(chat.platform, queue);
    this.#pump(chat.platform);
  }

  #pump(platform: string): void {
    const lanes = this.options.lanes ?? 16;
    const queue = this.#waiting.get(platform) ?? [];
    while (!this.#stopped && queue.length > 0 && (this.#active.get(platform) ?? 0) < lanes) {
      const chat = queue.shift()!;
      chat.busy = true;
      this.#active.set(platform, (this.#active.get(platform) ?? 0) + 1);
      void this.#deliver(chat).finally(() => {
        chat.busy = false;
        this.#active.set(platform, (this.#active.get(platform) ?? 1) - 1);
        if (chat.entries.length > 0) this.#ready(chat);
        else {
          this.#chats.delete(`${platform}\u0000${chat.chatId}`);
          this.#pump(platform);
        }
      });
    }
  }

  async #deliver(chat: Chat): Promise<void> {
    const { log, metrics, ttlMs } = this.options;
    const retry = this.options.retry ?? { initialMs: 1000, maxMs: 60_000 };
    const platform = chat.platform;
    while (chat.entries.length > 0 && !this.#stopped) {
      const entry = chat.entries[0]!;
      if (Date.now() - entry.acceptedAt > ttlMs) {
        this.#done(chat);
        this.#deadLetter(entry, "not delivered within outbox_ttl");
        continue;
      }
      const adapter = this.options.adapterFor(platform);
      if (!adapter) {
        await this.#park(platform, Math.max(1, entry.acceptedAt + ttlMs - Date.now()));
        continue;
      }
      try {
        entry.attempts++;
        await adapter.send(entry.message);
        this.#done(chat);
        metrics.inc("hermes_messages_out_total", "Messages delivered to platforms", { platform });
        this.options.delivered?.(platform);
      } catch (error) {
        const e = error instanceof PlatformError ? error : new PlatformError("transient", String(error));
        if (e.kind === "protocol" || e.kind === "auth") {
          this.#done(chat);
          this.#deadLetter(entry, e.message);
          continue;
        }
        const wait = e.retryAfterMs ?? backoffDelay(entry.attempts, retry);
        log.warn("outbox.retry", `delivery to ${platform} failed (${e.message}); retrying in ${wait} ms`, {
          platform,
          message_id: entry.message.id,
          attempt: entry.attempts,
        });
        await this.#park(platform, wait);
      }
    }
  }

  #done(chat: Chat): void {
    chat.entries.shift();
    this.#pending--;
    this.#gauge();
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

  #park(platform: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const parked = this.#parked.get(platform) ?? new Set();
      this.#parked.set(platform, parked);
      const wake = () => {
        clearTimeout(timer);
        parked.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      parked.add(wake);
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
