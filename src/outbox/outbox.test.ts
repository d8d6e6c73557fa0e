import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Metrics } from "../gateway/metrics.ts";
import { silentLogger } from "../log/logger.ts";
import { type Adapter, type OutboundMessage, PlatformError } from "../platforms/adapter.ts";
import { Outbox, type OutboxOptions, type OutboxRecord, replayOutbox } from "./outbox.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function journalPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "hermes-outbox-"));
  dirs.push(dir);
  return join(dir, "outbox", "journal.log");
}

/** An adapter that records what it sends; `fail` decides, per attempt, whether (and how) a send fails. */
function recorder(
  fail?: (message: OutboundMessage, attempt: number) => PlatformError | undefined,
  delayMs = 0,
) {
  const sent: { message: OutboundMessage; at: number }[] = [];
  const attempts = new Map<string, number>();
  let active = 0;
  let maxActive = 0;
  const adapter: Adapter = {
    run: () => new Promise(() => {}),
    async send(message) {
      const n = (attempts.get(message.id) ?? 0) + 1;
      attempts.set(message.id, n);
      active++;
      maxActive = Math.max(maxActive, active);
      try {
        if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
        const error = fail?.(message, n);
        if (error) throw error;
        sent.push({ message, at: Date.now() });
      } finally {
        active--;
      }
    },
  };
  return { adapter, sent, attempts, maxActive: () => maxActive };
}

function options(adapter: Adapter | undefined, extra: Partial<OutboxOptions> = {}): OutboxOptions {
  return {
    ttlMs: 60_000,
    adapterFor: () => adapter,
    log: silentLogger,
    metrics: new Metrics(),
    retry: { initialMs: 10, maxMs: 40 },
    ...extra,
  };
}

/** Waits, bounded, for a condition (what names it in the failure). */
function until(what: string, check: () => boolean, timeout = 5000): Promise<boolean> {
  return vi.waitUntil(check, { timeout, interval: 5 }).catch(() => {
    throw new Error(`timed out waiting for ${what}`);
  });
}

const msg = (chatId: string, text: string, id?: string) => ({
  platform: "webhook",
  chatId,
  text,
  inReplyTo: null,
  ...(id ? { id } : {}),
});

describe("Outbox", () => {
  it("delivers in order per chat, several chats at once but no more than its lanes", async () => {
    const r = recorder(undefined, 2);
    const outbox = await Outbox.open(journalPath(), options(r.adapter, { lanes: 3 }));
    const enqueued: Promise<string>[] = [];
    for (let i = 0; i < 20; i++)
      for (const chat of ["a", "b", "c", "d", "e"]) enqueued.push(outbox.enqueue(msg(chat, `${i}`)));
    await Promise.all(enqueued);
    await until("all sent", () => r.sent.length === 100);
    for (const chat of ["a", "b", "c", "d", "e"]) {
      expect(r.sent.filter((s) => s.message.chatId === chat).map((s) => s.message.text)).toEqual(
        Array.from({ length: 20 }, (_, i) => `${i}`),
      );
    }
    expect(r.maxActive()).toBeGreaterThan(1);
    expect(r.maxActive()).toBeLessThanOrEqual(3);
    expect(outbox.pending()).toBe(0);
    await outbox.stop();
  });

  it("retries network errors and 5xx with the same id, waits what a 429 asks, and keeps the chat's order", async () => {
    const r = recorder((m, n) => {
      if (m.text === "first" && n <= 2) return new PlatformError("transient", "HTTP 503");
      if (m.text === "first" && n === 3) return new PlatformError("rate_limit", "HTTP 429", 120);
      return undefined;
    });
    const outbox = await Outbox.open(journalPath(), options(r.adapter));
    const started = Date.now();
    const first = await outbox.enqueue(msg("a", "first"));
    await outbox.enqueue(msg("a", "second"));
    await until("both sent", () => r.sent.length === 2);
    expect(r.sent.map((s) => s.message.text)).toEqual(["first", "second"]);
    expect(r.attempts.get(first)).toBe(4);
    expect(r.sent[0]!.message.id).toBe(first);
    expect(r.sent[0]!.at - started).toBeGreaterThanOrEqual(120);
    await outbox.stop();
  });

  it("a refused message (4xx, bad credentials) is a dead letter at once; the next one still goes", async () => {
    const dead: string[] = [];
    const r = recorder((m) =>
      m.text === "bad" ? new PlatformError("protocol", "HTTP 400: chat not found") : undefined,
    );
    const outbox = await Outbox.open(
      journalPath(),
      options(r.adapter, { dead: (e) => dead.push(e.message.id) }),
    );
    const bad = await outbox.enqueue(msg("a", "bad"));
    await outbox.enqueue(msg("a", "good"));
    await until("good sent", () => r.sent.length === 1);
    expect(r.attempts.get(bad)).toBe(1);
    expect(dead).toEqual([bad]);
    expect(outbox.list("dead").map((e) => [e.message.id, e.reason])).toEqual([
      [bad, "HTTP 400: chat not found"],
    ]);
    expect([outbox.pending(), outbox.dead()]).toEqual([0, 1]);
    await outbox.stop();
  });

  it("counts pending and dead messages through TTL expiry, retry and purge", async () => {
    let adapter: Adapter | undefined;
    const metrics = new Metrics();
    const path = journalPath();
    const outbox = await Outbox.open(
      path,
      options(undefined, { ttlMs: 50, adapterFor: () => adapter, metrics }),
    );
    const ids = await Promise.all(["1", "2", "3"].map((t) => outbox.enqueue(msg("a", t))));
    expect(outbox.pending()).toBe(3);
    await until("all dead", () => outbox.dead() === 3, 3000);
    expect(outbox.pending()).toBe(0);
    expect(metrics.get("hermes_outbox_dead")).toBe(3);
    expect(outbox.list("dead")[0]!.reason).toMatch(/outbox_ttl/);

    expect(await outbox.purge("dead", [ids[0]!])).toEqual([ids[0]]);
    const r = recorder();
    adapter = r.adapter;
    expect(await outbox.retry([ids[1]!])).toEqual([ids[1]]);
    await until("retried one sent", () => r.sent.length === 1);
    expect([outbox.pending(), outbox.dead()]).toEqual([0, 1]);
    expect(metrics.get("hermes_outbox_pending")).toBe(0);
    await outbox.stop();

    // The same state comes back from the journal.
    const again = await Outbox.open(path, options(undefined));
    expect(again.list("dead").map((e) => e.message.id)).toEqual([ids[2]]);
    expect(again.pending()).toBe(0);
    await again.stop();
  });

  it("accepts a known or already delivered id again without sending it twice, across a restart", async () => {
    const path = journalPath();
    const r = recorder();
    const outbox = await Outbox.open(path, options(r.adapter));
    await outbox.enqueue(msg("a", "hello", "m-1"));
    await outbox.enqueue(msg("a", "hello", "m-1"));
    await until("sent", () => r.sent.length === 1);
    await outbox.enqueue(msg("a", "hello", "m-1"));
    await outbox.stop();

    const reopened = await Outbox.open(path, options(r.adapter));
    expect(await reopened.enqueue(msg("a", "hello", "m-1"))).toBe("m-1");
    await new Promise((res) => setTimeout(res, 50));
    expect(r.sent.map((s) => s.message.id)).toEqual(["m-1"]);
    await reopened.stop();
  });

  it("messages accepted while the platform was away go out, in order, after a restart", async () => {
    const path = journalPath();
    const outbox = await Outbox.open(path, options(undefined));
    for (const t of ["1", "2", "3"]) await outbox.enqueue(msg("a", t));
    await outbox.stop();
    const r = recorder();
    const reopened = await Outbox.open(path, options(r.adapter));
    await until("sent", () => r.sent.length === 3);
    expect(r.sent.map((s) => s.message.text)).toEqual(["1", "2", "3"]);
    await reopened.stop();
  });

  it("keeps a message's failure targets across a restart and a compaction, and reports every verdict", async () => {
    const path = journalPath();
    const outbox = await Outbox.open(path, options(undefined));
    await outbox.enqueue(msg("a", "result", "cron:j:s:0"), { failureTargets: ["probe:alerts"] });
    await outbox.stop();
    const verdicts: [string, string][] = [];
    const dead: string[][] = [];
    const r = recorder((m) => (m.text === "refused" ? new PlatformError("protocol", "400") : undefined));
    const reopened = await Outbox.open(
      path,
      options(r.adapter, {
        settled: (e, outcome) => verdicts.push([e.message.id, outcome]),
        dead: (e) => dead.push(e.failureTargets),
      }),
    );
    expect(reopened.list("pending")[0]!.failureTargets).toEqual(["probe:alerts"]);
    await reopened.enqueue(msg("b", "refused", "cron:j:s:1"), { failureTargets: ["probe:alerts", "probe2"] });
    await until("both verdicts", () => verdicts.length === 2);
    expect(verdicts.sort()).toEqual([
      ["cron:j:s:0", "sent"],
      ["cron:j:s:1", "dead"],
    ]);
    expect(dead).toEqual([["probe:alerts", "probe2"]]);
    expect(r.sent[0]!.message).toEqual({
      id: "cron:j:s:0",
      platform: "webhook",
      chatId: "a",
      text: "result",
      inReplyTo: null,
    });
    await reopened.stop();
    const { entries } = replayOutbox((await Outbox.open(path, options(undefined))).journal.records);
    expect(entries.get("cron:j:s:1")).toMatchObject({
      state: "dead",
      failureTargets: ["probe:alerts", "probe2"],
    });
  });

  it("compacts a journal that is mostly history, and still remembers what was sent", async () => {
    const path = journalPath();
    const r = recorder();
    const outbox = await Outbox.open(path, options(r.adapter));
    const ids: string[] = [];
    for (let i = 0; i < 3000; i++) ids.push(await outbox.enqueue(msg(`c${i % 50}`, "x".repeat(200))));
    await until("sent", () => r.sent.length === 3000, 20_000);
    await until("compacted", () => outbox.journal.stats.appended < 6000, 5000);
    await outbox.stop();
    // 3000 "out" records of ~300 bytes were replaced by "sent" records of ~70.
    expect(statSync(path).size).toBeLessThan(3000 * 150);
    const reopened = await Outbox.open(path, options(r.adapter));
    await reopened.enqueue(msg("c0", "x".repeat(200), ids[0]));
    await new Promise((res) => setTimeout(res, 30));
    expect(r.sent).toHaveLength(3000);
    await reopened.stop();
  });
});

describe("replayOutbox", () => {
  it("folds records into state: sent removes, dead and retry switch, purge drops, stale sent ids are forgotten", () => {
    const now = 10 * 24 * 3600 * 1000;
    const out = (id: string, at = now): OutboxRecord => ({
      t: "out",
      id,
      at,
      platform: "webhook",
      chatId: "a",
      text: id,
      inReplyTo: null,
    });
    const { entries, sent } = replayOutbox(
      [
        out("a"),
        out("b"),
        out("c"),
        out("d"),
        { t: "sent", id: "a", at: now },
        { t: "dead", id: "b", reason: "HTTP 400", at: now },
        { t: "dead", id: "c", reason: "ttl", at: now },
        { t: "retry", id: "c", at: now + 1 },
        { t: "purge", id: "d" },
        { t: "sent", id: "old", at: 0 },
        out("a"),
      ],
      now,
    );
    expect([...entries].map(([id, e]) => [id, e.state, e.reason])).toEqual([
      ["b", "dead", "HTTP 400"],
      ["c", "pending", null],
    ]);
    expect(entries.get("c")?.acceptedAt).toBe(now + 1);
    expect([...sent.keys()]).toEqual(["a"]);
  });
});
