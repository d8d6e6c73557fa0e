/**
 * The durable outbox, `outbox/journal.log`. A message is accepted once its record is on disk; it then goes out
 * through the platform's connected adapter in order per chat (several chats of a platform at once), retried with
 * backoff and jitter on network errors, 5xx and 429 (waiting what the platform asks), with the same `id` every
 * time so receivers can de-duplicate. Other errors, or `outbox_ttl` passing, make it a dead letter: logged,
 * announced, kept until retried or purged. Enqueueing an id that is already known does nothing, which makes
 * re-processing an inbound message after a crash safe.
 */
import { randomUUID } from "node:crypto";
import { backoffDelay } from "../gateway/backoff.ts";
import type { Metrics } from "../gateway/metrics.ts";
import { Journal } from "../journal/journal.ts";
import type { Logger } from "../log/logger.ts";
import { type Adapter, type OutboundMessage, PlatformError } from "../platforms/adapter.ts";

export type OutboxRecord =
  /** `failure_targets`: told when this message becomes a dead letter (a job's failure_deliver). */
  | ({ t: "out"; at: number; notice?: boolean; failure_targets?: string[] } & OutboundMessage)
  | { t: "sent"; id: string; at: number }
  | { t: "dead"; id: string; reason: string; at: number }
  | { t: "retry"; id: string; at: number }
  | { t: "purge"; id: string };

export type EntryState = "pending" | "sent" | "dead";

export interface OutboxEntry {
  message: OutboundMessage;
  state: EntryState;
  acceptedAt: number;
  attempts: number;
  reason: string | null;
  /** A notice hermes itself sends (dead-letter announcements): its own failure is not announced again. */
  notice: boolean;
  /** Targets (`platform` or `platform:chat`) told when this message becomes a dead letter. */
  failureTargets: string[];
  durable: Promise<void>;
}

export interface OutboxOptions {
  ttlMs: number;
  adapterFor(platform: string): Adapter | undefined;
  delivered?(platform: string): void;
  /** A message became a dead letter (not called for notices). */
  dead?(entry: OutboxEntry): void;
  /** Any message (notices too) was delivered or became a dead letter. */
  settled?(entry: OutboxEntry, outcome: "sent" | "dead"): void;
  log: Logger;
  metrics: Metrics;
  retry?: { initialMs: number; maxMs: number };
  /** Chats of one platform delivered to at the same time. @default 16 */
  lanes?: number;
}

/** Ids of delivered messages are remembered this long, so a re-processed reply is not sent twice. */
const SENT_MEMORY_MS = 7 * 24 * 3600 * 1000;
const COMPACT_AFTER = 5000;

interface Chat {
  key: string;
  platform: string;
  entries: OutboxEntry[];
  busy: boolean;
}

export class Outbox {
  readonly #entries = new Map<string, OutboxEntry>();
  readonly #sentAt = new Map<string, number>();
  readonly #chats = new Map<string, Chat>();
  readonly #waiting = new Map<string, Chat[]>();
  readonly #active = new Map<string, number>();
  readonly #parked = new Map<string, Set<() => void>>();
  /** Entries hold only pending and dead messages; counting the dead keeps both counts O(1). */
  #deadCount = 0;
  #stopped = false;
  #compacting = false;

  private constructor(
    readonly journal: Journal<OutboxRecord>,
    readonly options: OutboxOptions,
  ) {}

  static async open(path: string, options: OutboxOptions): Promise<Outbox> {
    const outbox = new Outbox(await Journal.open<OutboxRecord>(path), options);
    outbox.#replay();
    return outbox;
  }

  /** Rebuilds the state from the journal; pending messages queue again in their original order. */
  #replay(): void {
    const { entries, sent } = replayOutbox(this.journal.records);
    for (const [id, at] of sent) this.#sentAt.set(id, at);
    for (const [id, e] of entries) {
      this.#entries.set(id, { ...e, attempts: 0, durable: Promise.resolve() });
      if (e.state === "pending") this.#queue(this.#entries.get(id)!);
      else this.#deadCount++;
    }
    this.#gauge();
  }

  /** Pending deliveries of every platform try again now. */
  wakeAll(): void {
    for (const platform of this.#parked.keys()) this.wake(platform);
  }

  /** Accepts a message: resolves with its id once it is on disk. A known id is accepted again as is. */
  async enqueue(
    message: Omit<OutboundMessage, "id"> & { id?: string },
    options: { notice?: boolean; failureTargets?: string[] } = {},
  ): Promise<string> {
    const id = message.id ?? randomUUID();
    const known = this.#entries.get(id);
    if (known) {
      await known.durable;
      return id;
    }
    if (this.#sentAt.has(id)) return id;
    const full: OutboundMessage = {
      id,
      platform: message.platform,
      chatId: message.chatId,
      text: message.text,
      inReplyTo: message.inReplyTo,
    };
    const at = Date.now();
    const failureTargets = options.failureTargets ?? [];
    const durable = this.journal.append({
      t: "out",
      at,
      ...full,
      ...(options.notice ? { notice: true } : {}),
      ...(failureTargets.length > 0 ? { failure_targets: failureTargets } : {}),
    });
    const entry: OutboxEntry = {
      message: full,
      state: "pending",
      acceptedAt: at,
      attempts: 0,
      reason: null,
      notice: options.notice === true,
      failureTargets,
      durable,
    };
    this.#entries.set(id, entry);
    // Queued at once, so that order per chat is the order of acceptance; delivery waits for `durable`.
    this.#queue(entry);
    this.#gauge();
    try {
      await durable;
    } catch (error) {
      this.#entries.delete(id);
      throw error;
    }
    return id;
  }

  wake(platform: string): void {
    for (const wake of this.#parked.get(platform) ?? []) wake();
  }

  list(state: EntryState): OutboxEntry[] {
    return [...this.#entries.values()].filter((e) => e.state === state);
  }

  pending(): number {
    return this.#entries.size - this.#deadCount;
  }

  dead(): number {
    return this.#deadCount;
  }

  /** Dead letters (these ids, or all) become pending again, with a fresh TTL. Resolves with the ids retried. */
  async retry(ids?: string[]): Promise<string[]> {
    const chosen = this.list("dead").filter((e) => !ids || ids.includes(e.message.id));
    const at = Date.now();
    // State first, then the journal: a compaction snapshot taken meanwhile must already show the change.
    for (const e of chosen) {
      Object.assign(e, { state: "pending", reason: null, acceptedAt: at, attempts: 0 });
      this.#deadCount--;
    }
    const written = Promise.all(chosen.map((e) => this.journal.append({ t: "retry", id: e.message.id, at })));
    for (const e of chosen) this.#queue(e);
    this.#gauge();
    await written;
    return chosen.map((e) => e.message.id);
  }

  /** Drops messages of a state (these ids, or all of it). Resolves with the ids dropped. */
  async purge(state: "pending" | "dead", ids?: string[]): Promise<string[]> {
    const chosen = this.list(state).filter((e) => !ids || ids.includes(e.message.id));
    const written = Promise.all(chosen.map((e) => this.journal.append({ t: "purge", id: e.message.id })));
    for (const e of chosen) {
      this.#entries.delete(e.message.id);
      if (e.state === "dead") this.#deadCount--;
      const chat = this.#chats.get(chatKey(e.message));
      if (chat) chat.entries = chat.entries.filter((x) => x !== e);
    }
    this.#gauge();
    await written;
    return chosen.map((e) => e.message.id);
  }

  /** Resolves when nothing is pending, or at the deadline. */
  async drain(deadline: number): Promise<void> {
    while (this.pending() > 0 && Date.now() < deadline)
      await sleep(Math.min(20, Math.max(1, deadline - Date.now())));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const parked of this.#parked.values()) for (const wake of parked) wake();
    await this.journal.close();
  }

  #gauge(): void {
    const { metrics } = this.options;
    metrics.set(
      "hermes_outbox_pending",
      "Messages accepted for delivery and not yet delivered",
      {},
      this.pending(),
    );
    metrics.set("hermes_outbox_dead", "Messages that could not be delivered", {}, this.dead());
  }

  #queue(entry: OutboxEntry): void {
    const key = chatKey(entry.message);
    let chat = this.#chats.get(key);
    if (!chat) {
      chat = { key, platform: entry.message.platform, entries: [], busy: false };
      this.#chats.set(key, chat);
    }
    chat.entries.push(entry);
    if (!chat.busy && chat.entries.length === 1) this.#ready(chat);
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
      if (chat.busy || chat.entries.length === 0) continue;
      chat.busy = true;
      this.#active.set(platform, (this.#active.get(platform) ?? 0) + 1);
      void this.#deliver(chat).finally(() => {
        chat.busy = false;
        this.#active.set(platform, (this.#active.get(platform) ?? 1) - 1);
        if (chat.entries.length > 0) this.#ready(chat);
        else {
          this.#chats.delete(chat.key);
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
      try {
        await entry.durable;
      } catch {
        chat.entries.shift();
        continue;
      }
      if (entry.state !== "pending") {
        chat.entries.shift();
        continue;
      }
      if (Date.now() - entry.acceptedAt > ttlMs) {
        chat.entries.shift();
        await this.#deadLetter(
          entry,
          `not delivered within outbox_ttl (${Math.round(ttlMs / 1000)} s)${entry.reason ? `; last error: ${entry.reason}` : ""}`,
        );
        continue;
      }
      const adapter = this.options.adapterFor(platform);
      if (!adapter) {
        await this.#park(platform, Math.max(1, entry.acceptedAt + ttlMs - Date.now() + 1));
        continue;
      }
      try {
        entry.attempts++;
        await adapter.send(entry.message);
        chat.entries.shift();
        this.#entries.delete(entry.message.id);
        const at = Date.now();
        this.#sentAt.set(entry.message.id, at);
        // Not awaited: a crash before this is on disk sends the message again, with the same id.
        void this.journal.append({ t: "sent", id: entry.message.id, at }).catch(() => {});
        metrics.inc("hermes_messages_out_total", "Messages delivered to platforms", { platform });
        this.options.delivered?.(platform);
        this.options.settled?.(entry, "sent");
        this.#gauge();
        this.#maybeCompact();
      } catch (error) {
        const e = error instanceof PlatformError ? error : new PlatformError("transient", String(error));
        entry.reason = e.message;
        if (e.kind === "protocol" || e.kind === "auth") {
          chat.entries.shift();
          await this.#deadLetter(entry, e.message);
          continue;
        }
        const wait = e.retryAfterMs ?? backoffDelay(entry.attempts, retry);
        log.warn("outbox.retry", `delivery to ${platform} failed (${e.message}); retrying in ${wait} ms`, {
          platform,
          message_id: entry.message.id,
          attempt: entry.attempts,
        });
        await this.#park(platform, wait, e.retryAfterMs !== undefined);
      }
    }
  }

  async #deadLetter(entry: OutboxEntry, reason: string): Promise<void> {
    Object.assign(entry, { state: "dead", reason });
    // A message purged while it was being delivered is no longer counted.
    if (this.#entries.get(entry.message.id) === entry) this.#deadCount++;
    this.#gauge();
    this.options.log.error(
      "outbox.dead",
      `message ${entry.message.id} to ${entry.message.platform}:${entry.message.chatId} is a dead letter: ${reason}`,
      {
        platform: entry.message.platform,
        message_id: entry.message.id,
        reason,
      },
    );
    if (!entry.notice) this.options.dead?.(entry);
    this.options.settled?.(entry, "dead");
    await this.journal.append({ t: "dead", id: entry.message.id, reason, at: Date.now() }).catch(() => {});
  }

  /** Waits `ms`, or until the platform connects again (unless the platform itself asked for the wait). */
  #park(platform: string, ms: number, exact = false): Promise<void> {
    return new Promise((resolve) => {
      const parked = this.#parked.get(platform) ?? new Set();
      this.#parked.set(platform, parked);
      const wake = () => {
        clearTimeout(timer);
        parked.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      if (!exact) parked.add(wake);
    });
  }

  /** Rewrites the journal with what is still needed once it is mostly history. */
  #maybeCompact(): void {
    if (
      this.#compacting ||
      this.journal.stats.appended < COMPACT_AFTER ||
      this.journal.stats.appended < 2 * (this.#entries.size + this.#sentAt.size)
    )
      return;
    this.#compacting = true;
    // The snapshot is of now; the records are made while the journal writes them, a chunk at a time.
    const now = Date.now();
    const sentAt = this.#sentAt;
    const sent = new Map(sentAt);
    const entries: OutboxRecord[] = [];
    for (const e of this.#entries.values()) {
      entries.push({
        t: "out",
        at: e.acceptedAt,
        ...e.message,
        ...(e.notice ? { notice: true } : {}),
        ...(e.failureTargets.length > 0 ? { failure_targets: e.failureTargets } : {}),
      });
      if (e.state === "dead") entries.push({ t: "dead", id: e.message.id, reason: e.reason ?? "", at: now });
    }
    function* live(): Generator<OutboxRecord> {
      for (const [id, at] of sent) {
        if (now - at < SENT_MEMORY_MS) yield { t: "sent", id, at };
        else sentAt.delete(id);
      }
      yield* entries;
    }
    void this.journal
      .compact(live())
      .catch((error) =>
        this.options.log.warn("outbox.compact", `compacting the outbox journal failed: ${String(error)}`),
      )
      .finally(() => {
        this.#compacting = false;
      });
  }
}

export type ReplayedEntry = Omit<OutboxEntry, "attempts" | "durable">;

/** The outbox's state from its journal records (also used by `hermes outbox` when no gateway runs). */
export function replayOutbox(
  records: OutboxRecord[],
  now = Date.now(),
): { entries: Map<string, ReplayedEntry>; sent: Map<string, number> } {
  const entries = new Map<string, ReplayedEntry>();
  const sent = new Map<string, number>();
  for (const r of records) {
    if (r.t === "out") {
      if (entries.has(r.id) || sent.has(r.id)) continue;
      const { t: _t, at, notice, failure_targets, ...message } = r;
      entries.set(r.id, {
        message,
        state: "pending",
        acceptedAt: at,
        reason: null,
        notice: notice === true,
        failureTargets: failure_targets ?? [],
      });
    } else if (r.t === "sent") {
      entries.delete(r.id);
      if (now - r.at < SENT_MEMORY_MS) sent.set(r.id, r.at);
    } else if (r.t === "dead") {
      const e = entries.get(r.id);
      if (e) Object.assign(e, { state: "dead", reason: r.reason });
    } else if (r.t === "retry") {
      const e = entries.get(r.id);
      if (e) Object.assign(e, { state: "pending", reason: null, acceptedAt: r.at });
    } else if (r.t === "purge") {
      entries.delete(r.id);
    }
  }
  return { entries, sent };
}

function chatKey(message: OutboundMessage): string {
  return `${message.platform}\u0000${message.chatId}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
