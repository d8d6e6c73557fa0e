/**
 * The scheduler's deliveries inside the gateway: straight into the outbox, each message with its stable id and
 * its failure targets; the outbox's verdicts (sent, dead) are reported back per run.
 */
import { existsSync } from "node:fs";
import type { CronMessage, DeliverySink } from "../cron/scheduler.ts";
import { Spool, spoolPath } from "../cron/spool.ts";
import type { Logger } from "../log/logger.ts";
import type { Outbox, OutboxEntry } from "../outbox/outbox.ts";

export type ResolvedTarget = { platform: string; chatId: string } | { error: string };

/** `cron:<job>:<slot>:<n>`: a job's result for `deliver[n]` (failure notices have other suffixes). */
const RESULT_ID = /^(cron:[^:]+:.+:)\d+$/;

export interface OutboxSinkOptions {
  home: string;
  log: Logger;
  outbox: () => Outbox;
  resolve: (target: string) => ResolvedTarget;
  /** `gateway.outbox_ttl`: a spooled result older than this is not delivered any more. */
  ttlMs: () => number;
}

export class OutboxSink implements DeliverySink {
  readonly #follows = new Map<string, (outcome: "delivered" | "failed") => void>();
  /** Results a `cron serve` left in the spool go into the outbox before any new one. */
  #ready: Promise<void> = Promise.resolve();

  constructor(readonly o: OutboxSinkOptions) {}

  outbox(): Outbox {
    return this.o.outbox();
  }

  held(): Promise<void> {
    this.#ready = this.#takeSpool();
    return this.#ready;
  }

  /** What a `cron serve` that held the lock before left in cron/spool.journal moves into the outbox, in order. */
  async #takeSpool(): Promise<void> {
    const path = spoolPath(this.o.home);
    if (!existsSync(path)) return;
    const spool = await Spool.open(path);
    const ttl = this.o.ttlMs();
    const outbox = this.outbox();
    const accepted: Promise<unknown>[] = [];
    let moved = 0;
    for (const m of [...spool.pending]) {
      const expired = Date.now() - m.at > ttl;
      const where = expired
        ? { error: `not delivered within outbox_ttl (${Math.round(ttl / 1000)} s)` }
        : this.o.resolve(m.target);
      if ("error" in where) {
        const job = /^cron:([^:]+):/.exec(m.id)?.[1] ?? "?";
        this.o.log.error(
          "cron.delivery",
          `job ${job}: its result for ${m.target} is not delivered: ${where.error}`,
          {
            job,
            target: m.target,
          },
        );
        m.failure_targets.forEach((target, n) => {
          const to = this.o.resolve(target);
          if ("error" in to) return;
          accepted.push(
            outbox.enqueue({
              id: `${m.id}:failed:${n}`,
              platform: to.platform,
              chatId: to.chatId,
              text: `⚠️ Job ${job} could not deliver its result to ${m.target}: ${where.error}`,
              inReplyTo: null,
            }),
          );
        });
        accepted.push(spool.done(m.id, expired ? "expired" : "failed"));
        continue;
      }
      // Enqueued without waiting in between: the outbox keeps the order of acceptance.
      accepted.push(
        outbox
          .enqueue(
            { id: m.id, platform: where.platform, chatId: where.chatId, text: m.text, inReplyTo: null },
            { failureTargets: m.failure_targets },
          )
          .then(() => spool.done(m.id, "forwarded")),
      );
      moved++;
    }
    await Promise.all(accepted);
    await spool.close();
    if (moved > 0) this.o.log.info("cron.spool", `moved ${moved} spooled result(s) into the outbox`);
  }

  async deliver(messages: CronMessage[]) {
    await this.#ready.catch(() => {});
    const refused: { id: string; target: string; error: string }[] = [];
    const outbox = this.outbox();
    const accepted: Promise<string>[] = [];
    // Enqueued without waiting in between: the outbox keeps each chat's messages in the order of acceptance, and
    // writes them together.
    for (const m of messages) {
      const where = this.o.resolve(m.target);
      if ("error" in where) {
        refused.push({ id: m.id, target: m.target, error: where.error });
        continue;
      }
      accepted.push(
        outbox.enqueue(
          { id: m.id, platform: where.platform, chatId: where.chatId, text: m.text, inReplyTo: null },
          { failureTargets: m.failureTargets },
        ),
      );
    }
    await Promise.all(accepted);
    return refused;
  }

  follow(jobId: string, slot: string, report: (outcome: "delivered" | "failed") => void): void {
    const prefix = `cron:${jobId}:${slot}:`;
    this.#follows.set(prefix, report);
    this.#check(prefix);
  }

  /** The outbox's `settled` hook. */
  settled(entry: OutboxEntry): void {
    const prefix = RESULT_ID.exec(entry.message.id)?.[1];
    if (prefix && this.#follows.has(prefix)) this.#check(prefix);
  }

  #check(prefix: string): void {
    const report = this.#follows.get(prefix);
    if (!report) return;
    const mine = (e: OutboxEntry) => RESULT_ID.exec(e.message.id)?.[1] === prefix;
    const outbox = this.outbox();
    if (outbox.list("dead").some(mine)) {
      this.#follows.delete(prefix);
      report("failed");
    } else if (!outbox.list("pending").some(mine)) {
      this.#follows.delete(prefix);
      report("delivered");
    }
  }
}

/** The notice a dead letter with failure targets sends them (SPEC §7, the contract's wording). */
export function failureNotice(entry: OutboxEntry): string {
  const job = /^cron:([^:]+):/.exec(entry.message.id)?.[1];
  const target = `${entry.message.platform}:${entry.message.chatId}`;
  return job
    ? `⚠️ Job ${job} could not deliver its result to ${target}: ${entry.reason ?? "unknown reason"}`
    : `⚠️ A message could not be delivered to ${target}: ${entry.reason ?? "unknown reason"}`;
}
