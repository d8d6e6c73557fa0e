/**
 * Inbound messages: allowlist, de-duplication by platform message id, then the agent, one call per chat at a
 * time in arrival order; the reply goes to the outbox. (In memory here; the durable journal replaces it.)
 */
import { randomUUID } from "node:crypto";
import type { Agent } from "../agent/agent.ts";
import type { ResolvedPlatform } from "../config/platforms.ts";
import type { Logger } from "../log/logger.ts";
import type { MemoryOutbox } from "../outbox/memory.ts";
import type { InboundMessage, ReceiveResult } from "../platforms/adapter.ts";
import type { Metrics } from "./metrics.ts";
import { within } from "./within.ts";

const DEDUPE_MS = 7 * 24 * 3600 * 1000;

export class Pipeline {
  #accepting = true;
  readonly #seen = new Map<string, number>();
  readonly #chats = new Map<string, Promise<void>>();
  readonly #abort = new AbortController();

  constructor(
    readonly deps: {
      agent: Agent;
      outbox: MemoryOutbox;
      log: Logger;
      metrics: Metrics;
      platform(name: string): ResolvedPlatform | undefined;
    },
  ) {}

  receive(message: InboundMessage): ReceiveResult {
    if (!this.#accepting) return { status: "unavailable" };
    const platform = this.deps.platform(message.platform);
    if (!platform || !(platform.allowAll.value || platform.allowedUsers.value.includes(message.userId))) {
      this.deps.log.info(
        "message.refused",
        `message from ${message.userId} on ${message.platform} refused: not in allowed_users`,
        {
          platform: message.platform,
          user_id: message.userId,
        },
      );
      return { status: "forbidden" };
    }
    const key = `${message.platform}\u0000${message.messageId}`;
    const now = Date.now();
    if (this.#seen.has(key)) return { status: "duplicate" };
    this.#seen.set(key, now);
    if (this.#seen.size % 1024 === 0) this.#prune(now);
    this.deps.metrics.inc("hermes_messages_in_total", "Messages received from platforms", {
      platform: message.platform,
    });
    const id = randomUUID();
    const chat = `${message.platform}\u0000${message.chatId}`;
    const previous = this.#chats.get(chat) ?? Promise.resolve();
    const current = previous.then(() => this.#handle(message));
    this.#chats.set(chat, current);
    void current.finally(() => {
      if (this.#chats.get(chat) === current) this.#chats.delete(chat);
    });
    return { status: "accepted", id };
  }

  /** Stops taking messages; resolves when in-flight agent calls are done, or at the deadline. */
  async drain(deadline: number): Promise<void> {
    this.#accepting = false;
    await within(Promise.allSettled([...this.#chats.values()]), Math.max(0, deadline - Date.now()));
    this.#abort.abort();
  }

  inFlight(): number {
    return this.#chats.size;
  }

  async #handle(message: InboundMessage): Promise<void> {
    try {
      const reply = await this.deps.agent.reply(message, this.#abort.signal);
      if (reply === "") return;
      this.deps.outbox.enqueue({
        platform: message.platform,
        chatId: message.chatId,
        text: reply,
        inReplyTo: message.messageId,
      });
    } catch (error) {
      this.deps.log.error(
        "agent.error",
        `agent ${this.deps.agent.name} failed: ${error instanceof Error ? error.message : String(error)}`,
        {
          platform: message.platform,
        },
      );
    }
  }

  #prune(now: number): void {
    for (const [key, at] of this.#seen) if (now - at > DEDUPE_MS) this.#seen.delete(key);
  }
}
