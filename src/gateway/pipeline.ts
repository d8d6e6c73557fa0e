/**
 * Inbound messages, durably: checked against the allowlists, de-duplicated by platform message id (7 days,
 * across restarts), written to `state/inbound.journal` (the sender gets its acknowledgement only once the
 * batch is on disk), then handed to the agent one call per chat at a time, in arrival order. Replies are split
 * to the platform's limit and go to the outbox with ids derived from the message, so re-processing a message
 * after a crash cannot send a reply twice. Admin chat commands never reach the agent.
 */
import { randomUUID } from "node:crypto";
import { type Agent, AgentError } from "../agent/agent.ts";
import type { ResolvedPlatform } from "../config/platforms.ts";
import { Journal } from "../journal/journal.ts";
import type { Logger } from "../log/logger.ts";
import type { Outbox } from "../outbox/outbox.ts";
import { splitText } from "../outbox/split.ts";
import type { InboundMessage, ReceiveResult } from "../platforms/adapter.ts";
import type { Metrics } from "./metrics.ts";
import { within } from "./within.ts";

export type InboundRecord =
  | {
      t: "in";
      id: string;
      platform: string;
      chatId: string;
      userId: string;
      messageId: string;
      text: string;
      at: number;
      group?: boolean;
      mentioned?: boolean;
    }
  | { t: "done"; id: string }
  | { t: "seen"; key: string; at: number };

type Pending = Extract<InboundRecord, { t: "in" }>;

export const ADMIN_COMMANDS = ["status", "restart", "platforms", "cron"] as const;
export type AdminCommand = (typeof ADMIN_COMMANDS)[number];

export interface PipelineDeps {
  agent: Agent;
  outbox: Outbox;
  log: Logger;
  metrics: Metrics;
  platform(name: string): ResolvedPlatform | undefined;
  /** Answers an admin command; `after` runs once the answer is accepted for delivery (a restart). */
  command(name: AdminCommand, message: InboundMessage): Promise<{ reply: string; after?: () => void }>;
}

const DEDUPE_MS = 7 * 24 * 3600 * 1000;
const COMPACT_AFTER = 5000;

export class Pipeline {
  #accepting = true;
  readonly #seen = new Map<string, number>();
  readonly #unfinished = new Map<string, Pending>();
  readonly #chats = new Map<string, Promise<void>>();
  readonly #abort = new AbortController();
  #compacting = false;

  private constructor(
    readonly journal: Journal<InboundRecord>,
    readonly deps: PipelineDeps,
  ) {}

  /** Opens the journal; messages accepted but not finished before a crash are processed again. */
  static async open(path: string, deps: PipelineDeps): Promise<Pipeline> {
    const pipeline = new Pipeline(await Journal.open<InboundRecord>(path), deps);
    const now = Date.now();
    for (const r of pipeline.journal.records) {
      if (r.t === "in") {
        pipeline.#seen.set(key(r.platform, r.messageId), r.at);
        pipeline.#unfinished.set(r.id, r);
      } else if (r.t === "done") pipeline.#unfinished.delete(r.id);
      else if (now - r.at < DEDUPE_MS) pipeline.#seen.set(r.key, r.at);
    }
    if (pipeline.#unfinished.size > 0) {
      deps.log.info(
        "inbound.recover",
        `${pipeline.#unfinished.size} accepted message(s) were not finished before the last stop; processing them now`,
      );
    }
    for (const r of pipeline.#unfinished.values()) pipeline.#schedule(r);
    return pipeline;
  }

  async receive(message: InboundMessage): Promise<ReceiveResult> {
    if (!this.#accepting) return { status: "unavailable" };
    const platform = this.deps.platform(message.platform);
    const verdict = platform ? admission(platform, message) : "forbidden";
    if (verdict !== "ok") {
      if (verdict === "forbidden") {
        this.deps.log.info(
          "message.refused",
          `message from ${message.userId} on ${message.platform} refused: not in allowed_users`,
          {
            platform: message.platform,
            user_id: message.userId,
          },
        );
      }
      return { status: verdict };
    }
    const k = key(message.platform, message.messageId);
    if (this.#seen.has(k)) return { status: "duplicate" };
    this.#seen.set(k, Date.now());
    const record: Pending = {
      t: "in",
      id: randomUUID(),
      platform: message.platform,
      chatId: message.chatId,
      userId: message.userId,
      messageId: message.messageId,
      text: message.text,
      at: message.at.getTime(),
      ...(message.group ? { group: true } : {}),
      ...(message.mentioned ? { mentioned: true } : {}),
    };
    // In the state before the append: a compaction snapshot taken meanwhile must hold it.
    this.#unfinished.set(record.id, record);
    try {
      await this.journal.append(record);
    } catch (error) {
      this.#seen.delete(k);
      this.#unfinished.delete(record.id);
      this.deps.log.error(
        "inbound.journal",
        `cannot write the inbound journal: ${String(error)}; the message is refused so its sender retries`,
      );
      return { status: "unavailable" };
    }
    this.deps.metrics.inc("hermes_messages_in_total", "Messages received from platforms", {
      platform: message.platform,
    });
    this.#schedule(record);
    return { status: "accepted", id: record.id };
  }

  /** Stops taking messages; resolves when in-flight work is done, or at the deadline. */
  async drain(deadline: number): Promise<void> {
    this.#accepting = false;
    await within(Promise.allSettled([...this.#chats.values()]), Math.max(0, deadline - Date.now()));
  }

  async stop(): Promise<void> {
    this.#accepting = false;
    this.#abort.abort();
    await this.journal.close();
  }

  inFlight(): number {
    return this.#chats.size;
  }

  #schedule(record: Pending): void {
    const chat = key(record.platform, record.chatId);
    const previous = this.#chats.get(chat) ?? Promise.resolve();
    const current = previous.then(() => this.#process(record));
    this.#chats.set(chat, current);
    void current.finally(() => {
      if (this.#chats.get(chat) === current) this.#chats.delete(chat);
    });
  }

  async #process(record: Pending): Promise<void> {
    if (this.#abort.signal.aborted) return;
    const message: InboundMessage = { ...record, at: new Date(record.at) };
    const platform = this.deps.platform(record.platform);
    let replies: string[] = [];
    let after: (() => void) | undefined;
    const command = parseCommand(record.text);
    try {
      if (command) {
        const admins = platform?.block?.admins ?? [];
        if (!admins.includes(record.userId)) {
          this.deps.log.info(
            "command.refused",
            `/${command} from ${record.userId} on ${record.platform} refused: not an admin`,
            { platform: record.platform },
          );
          replies = [`Sorry, /${command} is for admins only.`];
        } else {
          const answer = await this.deps.command(command, message);
          replies = [answer.reply];
          after = answer.after;
        }
      } else {
        const text = await this.deps.agent.reply(message, this.#abort.signal);
        replies = text === "" ? [] : [text];
      }
    } catch (error) {
      const short =
        error instanceof AgentError ? error.short : error instanceof Error ? error.message : String(error);
      const detail = error instanceof AgentError && error.detail ? `\n${error.detail}` : "";
      this.deps.log.error(
        "agent.error",
        `agent ${this.deps.agent.name} failed on ${record.platform}:${record.chatId}: ${short}${detail}`,
        {
          platform: record.platform,
        },
      );
      if (this.#abort.signal.aborted) return;
      replies = [`⚠️ The agent could not answer: ${short}.`];
    }
    try {
      const limit = platform?.manifest.messageLimit ?? 4096;
      const parts = replies.flatMap((r) => splitText(r, limit));
      for (const [i, text] of parts.entries()) {
        await this.deps.outbox.enqueue({
          id: `${record.id}.${i}`,
          platform: record.platform,
          chatId: record.chatId,
          text,
          inReplyTo: record.messageId,
        });
      }
      await this.journal.append({ t: "done", id: record.id });
      this.#unfinished.delete(record.id);
      this.#maybeCompact();
    } catch (error) {
      // The journal or the outbox cannot be written: the message stays unfinished and is processed at the next start.
      this.deps.log.error("inbound.journal", `cannot record the reply to ${record.id}: ${String(error)}`);
      return;
    }
    after?.();
  }

  #maybeCompact(): void {
    const { appended } = this.journal.stats;
    if (
      this.#compacting ||
      appended < COMPACT_AFTER ||
      appended < 2 * (this.#unfinished.size + this.#seen.size)
    )
      return;
    this.#compacting = true;
    // The snapshot is of now; the records are made while the journal writes them, a chunk at a time.
    const now = Date.now();
    const seen = this.#seen;
    const snapshot = new Map(seen);
    const unfinished = [...this.#unfinished.values()];
    const open = new Set(unfinished.map((r) => key(r.platform, r.messageId)));
    function* live(): Generator<InboundRecord> {
      for (const [k, at] of snapshot) {
        if (now - at >= DEDUPE_MS) seen.delete(k);
        else if (!open.has(k)) yield { t: "seen", key: k, at };
      }
      yield* unfinished;
    }
    void this.journal
      .compact(live())
      .catch((error) =>
        this.deps.log.warn("inbound.compact", `compacting the inbound journal failed: ${String(error)}`),
      )
      .finally(() => {
        this.#compacting = false;
      });
  }
}

function key(platform: string, id: string): string {
  return `${platform}\u0000${id}`;
}

/** Whether a message may reach the agent: its sender, its chat, and in groups a mention if one is required. */
function admission(platform: ResolvedPlatform, message: InboundMessage): "ok" | "forbidden" | "ignored" {
  if (!platform.allowAll.value && !platform.allowedUsers.value.includes(message.userId)) return "forbidden";
  if (message.group) {
    const chats = platform.block?.allowed_chats ?? [];
    if (chats.length > 0 && !chats.includes(message.chatId)) return "ignored";
    if (platform.block?.require_mention && !message.mentioned) return "ignored";
  }
  return "ok";
}

/** `/status`, `/status@mybot` and `/status extra words` are the command `status`; anything else is not one. */
export function parseCommand(text: string): AdminCommand | undefined {
  const m = /^\/([a-z]+)(?:@\S+)?(?:\s|$)/i.exec(text.trim());
  const name = m?.[1]?.toLowerCase();
  return (ADMIN_COMMANDS as readonly string[]).includes(name ?? "") ? (name as AdminCommand) : undefined;
}
