/**
 * `cron/spool.journal`: where `hermes cron serve`, which has no outbox of its own, keeps job results until the
 * gateway has taken them (`POST /v1/send` on its control socket, with the result's stable id and failure
 * targets). Only the scheduler lock's holder writes it: a `cron serve` holder forwards it in order while a gateway
 * answers; a gateway that becomes the holder moves what is left into its outbox. A result older than
 * `gateway.outbox_ttl` in the spool goes to its failure targets and the log instead.
 */
import { join } from "node:path";
import { controlRequest, socketFor } from "../gateway/control.ts";
import { Journal } from "../journal/journal.ts";
import type { Logger } from "../log/logger.ts";
import type { CronMessage, DeliverySink } from "./scheduler.ts";

export type SpoolRecord =
  | { t: "msg"; id: string; target: string; text: string; failure_targets: string[]; at: number }
  /** forwarded: the gateway took it; failed: refused for good; expired: outbox_ttl passed in the spool. */
  | { t: "done"; id: string; outcome: "forwarded" | "failed" | "expired"; at: number };

export type SpoolMessage = Extract<SpoolRecord, { t: "msg" }>;

export function spoolPath(home: string): string {
  return join(home, "cron", "spool.journal");
}

const COMPACT_AFTER = 1000;
/** Results forwarded in one request at most (the gateway takes up to 1,000). */
const FORWARD_BATCH = 500;

/** The spool's records, replayed: messages not yet done (in order), and what became of the others. */
export class Spool {
  readonly pending: SpoolMessage[] = [];
  readonly outcomes = new Map<string, "forwarded" | "failed" | "expired">();

  private constructor(readonly journal: Journal<SpoolRecord>) {}

  static async open(path: string): Promise<Spool> {
    const journal = await Journal.open<SpoolRecord>(path);
    const spool = new Spool(journal);
    const byId = new Map<string, SpoolMessage>();
    for (const r of journal.records) {
      if (r.t === "msg") {
        if (!byId.has(r.id) && !spool.outcomes.has(r.id)) byId.set(r.id, r);
      } else {
        byId.delete(r.id);
        spool.outcomes.set(r.id, r.outcome);
      }
    }
    spool.pending.push(...byId.values());
    return spool;
  }

  /** Resolves once the messages are on disk. A known id is not added again. */
  async add(messages: CronMessage[]): Promise<void> {
    const at = Date.now();
    const fresh = messages.filter(
      (m) => !this.outcomes.has(m.id) && !this.pending.some((p) => p.id === m.id),
    );
    const records: SpoolMessage[] = fresh.map((m) => ({
      t: "msg",
      id: m.id,
      target: m.target,
      text: m.text,
      failure_targets: m.failureTargets,
      at,
    }));
    this.pending.push(...records);
    await Promise.all(records.map((r) => this.journal.append(r)));
  }

  done(id: string, outcome: "forwarded" | "failed" | "expired"): Promise<void> {
    const index = this.pending.findIndex((p) => p.id === id);
    if (index >= 0) this.pending.splice(index, 1);
    this.outcomes.set(id, outcome);
    const written = this.journal.append({ t: "done", id, outcome, at: Date.now() });
    this.#maybeCompact();
    return written;
  }

  close(): Promise<void> {
    return this.journal.close();
  }

  /** Once it is mostly history: only what is pending is kept (outcomes of runs still followed are kept too). */
  #maybeCompact(): void {
    if (this.journal.stats.appended < COMPACT_AFTER || this.pending.length * 4 > this.journal.stats.appended)
      return;
    const keep: SpoolRecord[] = [...this.pending];
    // The latest outcomes stay, so a run's delivery status survives the compaction.
    const recent = [...this.outcomes].slice(-200);
    this.outcomes.clear();
    for (const [id, outcome] of recent) {
      this.outcomes.set(id, outcome);
      keep.push({ t: "done", id, outcome, at: Date.now() });
    }
    void this.journal.compact(keep).catch(() => {});
  }
}

export interface SpoolSinkOptions {
  home: string;
  log: Logger;
  /** `gateway.outbox_ttl`. */
  ttlMs: () => number;
  /** How often to try the gateway again while it does not answer. @default 1000 */
  retryMs?: number;
}

type Report = (outcome: "delivered" | "failed") => void;

const RESULT_ID = /^(cron:[^:]+:.+:)\d+$/;

/**
 * `cron serve`'s delivery: results into the spool, forwarded in order to the gateway while one answers; the
 * gateway's outbox is then asked what became of them.
 */
export class SpoolSink implements DeliverySink {
  #spool: Spool | undefined;
  #opening: Promise<Spool> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #busy = false;
  /** Kicked while a pass was under way: another pass follows at once. */
  #again = false;
  #stopped = false;
  readonly #follows = new Map<string, Report>();
  #gatewayUnreachableLogged = false;

  constructor(readonly o: SpoolSinkOptions) {}

  /** This process now holds the scheduler lock: opens the spool and forwards what it holds. */
  async held(): Promise<void> {
    await this.#open();
    this.#kick(0);
  }

  #open(): Promise<Spool> {
    this.#opening ??= Spool.open(spoolPath(this.o.home)).then((spool) => {
      this.#spool = spool;
      if (spool.pending.length > 0)
        this.o.log.info(
          "cron.spool",
          `${spool.pending.length} result(s) wait in ${spoolPath(this.o.home)} for the gateway`,
        );
      return spool;
    });
    return this.#opening;
  }

  async deliver(messages: CronMessage[]) {
    const spool = await this.#open();
    await spool.add(messages);
    this.#kick(0);
    return [];
  }

  follow(jobId: string, slot: string, report: Report): void {
    this.#follows.set(`cron:${jobId}:${slot}:`, report);
    this.#kick(0);
  }

  pending(): number {
    return this.#spool?.pending.length ?? 0;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    while (this.#busy) await new Promise((resolve) => setTimeout(resolve, 10));
    await this.#spool?.close();
  }

  #kick(ms: number): void {
    if (this.#stopped) return;
    if (this.#busy) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#pass(), ms);
  }

  /** One pass: forward what can be, expire what is too old, then ask the gateway about followed runs. */
  async #pass(): Promise<void> {
    if (this.#busy || this.#stopped) return;
    this.#busy = true;
    let again = false;
    try {
      const spool = await this.#open();
      again = await this.#forward(spool);
      again = (await this.#checkFollows(spool)) || again;
    } catch (error) {
      this.o.log.warn(
        "cron.spool",
        `forwarding results failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      again = true;
    } finally {
      this.#busy = false;
    }
    if (this.#again) {
      this.#again = false;
      this.#kick(0);
    } else if (again) this.#kick(this.o.retryMs ?? 1000);
  }

  /**
   * Forwards what the spool holds, oldest first, in batches (one `POST /v1/send` each: the gateway's outbox takes
   * them in order and writes them together), and records what the gateway took. Returns true when something is
   * left to do later.
   */
  async #forward(spool: Spool): Promise<boolean> {
    const { log } = this.o;
    const ttl = this.o.ttlMs();
    for (const m of spool.pending.filter((p) => Date.now() - p.at > ttl))
      await this.#fail(
        spool,
        m,
        `not delivered within outbox_ttl (${Math.round(ttl / 1000)} s): no gateway took it`,
        "expired",
      );
    // A target the gateway does not take right now (409: not enabled) keeps its later results back too, in order.
    const heldBack = new Set<string>();
    for (;;) {
      if (this.#stopped) return false;
      const batch = spool.pending.filter((m) => !heldBack.has(m.target)).slice(0, FORWARD_BATCH);
      if (batch.length === 0) return spool.pending.length > 0;
      let results: { status: number; id?: string; error?: string }[] | undefined;
      let why: string;
      try {
        const response = await controlRequest(socketFor(this.o.home), "POST", "/v1/send", 10_000, {
          messages: batch.map((m) => ({
            target: m.target,
            text: m.text,
            id: m.id,
            ...(m.failure_targets.length > 0 ? { failure_targets: m.failure_targets } : {}),
          })),
        });
        const body = response.body as { results?: unknown; error?: string } | undefined;
        if (response.status === 200 && Array.isArray(body?.results) && body.results.length === batch.length)
          results = body.results as typeof results;
        why = `it answered HTTP ${response.status}${body?.error ? `: ${body.error}` : ""}`;
      } catch (error) {
        why = error instanceof Error ? error.message : String(error);
      }
      if (!results) {
        if (!this.#gatewayUnreachableLogged) {
          this.#gatewayUnreachableLogged = true;
          log.warn(
            "cron.spool",
            `the gateway on ${socketFor(this.o.home)} does not take results (${why}); ${spool.pending.length} result(s) wait in the spool`,
          );
        }
        return true;
      }
      if (this.#gatewayUnreachableLogged) {
        this.#gatewayUnreachableLogged = false;
        log.info("cron.spool", "the gateway takes results again: forwarding the spooled ones");
      }
      // Recorded together: one write for the batch (a crash before it only forwards them again, under their ids).
      const written: Promise<void>[] = [];
      let stopping = false;
      for (const [i, m] of batch.entries()) {
        const r = results[i]!;
        if (r.status === 202) written.push(spool.done(m.id, "forwarded"));
        else if (r.status === 503)
          stopping = true; // stopping, or its outbox cannot be written: later
        else if (r.status === 409) heldBack.add(m.target);
        else written.push(this.#fail(spool, m, r.error ?? `HTTP ${r.status}`, "failed"));
      }
      await Promise.all(written);
      if (stopping) return true;
    }
  }

  /** A result that will not be delivered: logged with its job, its failure targets told (through the spool). */
  async #fail(spool: Spool, m: SpoolMessage, reason: string, outcome: "failed" | "expired"): Promise<void> {
    const job = /^cron:([^:]+):/.exec(m.id)?.[1] ?? "?";
    this.o.log.error("cron.delivery", `job ${job}: its result for ${m.target} is not delivered: ${reason}`, {
      job,
      target: m.target,
      message_id: m.id,
    });
    await spool.done(m.id, outcome);
    if (m.failure_targets.length > 0)
      await spool.add(
        m.failure_targets.map((target, n) => ({
          id: `${m.id}:failed:${n}`,
          target,
          text: `⚠️ Job ${job} could not deliver its result to ${m.target}: ${reason}`,
          failureTargets: [],
        })),
      );
    const prefix = RESULT_ID.exec(m.id)?.[1];
    const report = prefix ? this.#follows.get(prefix) : undefined;
    if (prefix && report) {
      this.#follows.delete(prefix);
      report("failed");
    }
  }

  /** Runs whose messages all left the spool: the gateway's outbox says whether they were delivered. */
  async #checkFollows(spool: Spool): Promise<boolean> {
    if (this.#follows.size === 0) return false;
    for (const [id, outcome] of spool.outcomes) {
      const prefix = RESULT_ID.exec(id)?.[1];
      const report = prefix ? this.#follows.get(prefix) : undefined;
      if (prefix && report && outcome !== "forwarded") {
        this.#follows.delete(prefix);
        report("failed");
      }
    }
    if (this.#follows.size === 0) return false;
    const inSpool = new Set(spool.pending.map((p) => RESULT_ID.exec(p.id)?.[1]));
    const asked = [...this.#follows.keys()].filter((prefix) => !inSpool.has(prefix));
    if (asked.length === 0) return true;
    let pending: { id: string }[];
    let dead: { id: string }[];
    try {
      const socket = socketFor(this.o.home);
      const [p, d] = await Promise.all([
        controlRequest(socket, "GET", "/admin/outbox?state=pending"),
        controlRequest(socket, "GET", "/admin/outbox?state=dead"),
      ]);
      if (p.status !== 200 || d.status !== 200) return true;
      pending = (p.body as { messages: { id: string }[] }).messages;
      dead = (d.body as { messages: { id: string }[] }).messages;
    } catch {
      return true;
    }
    const prefixOf = (id: string) => RESULT_ID.exec(id)?.[1];
    const deadRuns = new Set(dead.map((m) => prefixOf(m.id)));
    const pendingRuns = new Set(pending.map((m) => prefixOf(m.id)));
    for (const prefix of asked) {
      const report = this.#follows.get(prefix)!;
      if (deadRuns.has(prefix)) {
        this.#follows.delete(prefix);
        report("failed");
      } else if (!pendingRuns.has(prefix)) {
        this.#follows.delete(prefix);
        report("delivered");
      }
    }
    return this.#follows.size > 0;
  }
}
