import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Spool, spoolPath } from "../cron/spool.ts";
import { silentLogger } from "../log/logger.ts";
import { Outbox } from "../outbox/outbox.ts";
import { type Adapter, type OutboundMessage, PlatformError } from "../platforms/adapter.ts";
import { failureNotice, OutboxSink } from "./cron-sink.ts";
import { Metrics } from "./metrics.ts";

const dirs: string[] = [];
const outboxes: Outbox[] = [];
afterEach(async () => {
  for (const o of outboxes.splice(0)) await o.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const until = (what: string, check: () => boolean, timeout = 5000) =>
  vi.waitUntil(check, { timeout, interval: 10 }).catch(() => {
    throw new Error(`timed out waiting for ${what}`);
  });

async function setup(refuse: (m: OutboundMessage) => boolean = () => false) {
  const home = mkdtempSync(join(tmpdir(), "hermes-sink-"));
  dirs.push(home);
  const sent: OutboundMessage[] = [];
  const adapter: Adapter = {
    run: () => new Promise(() => {}),
    async send(m) {
      if (refuse(m)) throw new PlatformError("protocol", "reply_url answered 400");
      sent.push(m);
    },
  };
  let sink: OutboxSink | undefined;
  let up = false;
  const outbox = await Outbox.open(join(home, "outbox", "journal.log"), {
    ttlMs: 60_000,
    adapterFor: () => (up ? adapter : undefined),
    log: silentLogger,
    metrics: new Metrics(),
    settled: (e) => sink?.settled(e),
  });
  outboxes.push(outbox);
  sink = new OutboxSink({
    home,
    log: silentLogger,
    outbox: () => outbox,
    resolve: (target) => {
      const [platform, chat] = target.split(":");
      if (platform !== "webhook") return { error: `no platform named "${platform}"` };
      return chat ? { platform, chatId: chat } : { error: "no home_channel" };
    },
    ttlMs: () => 60_000,
  });
  return {
    home,
    sink,
    sent,
    outbox,
    up() {
      up = true;
      outbox.wake("webhook");
    },
  };
}

const slot = "2026-05-01T10:00:00.000Z";
const msg = (n: number, target = "webhook:ops") => ({
  id: `cron:j:${slot}:${n}`,
  target,
  text: "done",
  failureTargets: ["webhook:alerts"],
});

describe("the scheduler's deliveries in the gateway", () => {
  it("go into the outbox with their ids; a run is delivered once all its messages are", async () => {
    const t = await setup();
    expect(await t.sink.deliver([msg(0), msg(1, "webhook:ops2"), msg(2, "nowhere:x")])).toEqual([
      { id: `cron:j:${slot}:2`, target: "nowhere:x", error: 'no platform named "nowhere"' },
    ]);
    const outcomes: string[] = [];
    t.sink.follow("j", slot, (o) => outcomes.push(o));
    await new Promise((r) => setTimeout(r, 50));
    expect(outcomes).toEqual([]);
    t.up();
    await until("the verdict", () => outcomes.length === 1);
    expect(outcomes).toEqual(["delivered"]);
    expect(t.sent.map((m) => [m.id, m.chatId])).toEqual([
      [`cron:j:${slot}:0`, "ops"],
      [`cron:j:${slot}:1`, "ops2"],
    ]);
  });

  it("a run with a dead letter failed; the notice names the job, the target and the reason", async () => {
    const t = await setup((m) => m.chatId === "ops2");
    await t.sink.deliver([msg(0), msg(1, "webhook:ops2")]);
    const outcomes: string[] = [];
    t.sink.follow("j", slot, (o) => outcomes.push(o));
    t.up();
    await until("the verdict", () => outcomes.length === 1);
    expect(outcomes).toEqual(["failed"]);
    const dead = t.outbox.list("dead")[0]!;
    expect(failureNotice(dead)).toBe(
      "⚠️ Job j could not deliver its result to webhook:ops2: reply_url answered 400",
    );
  });

  it("results a cron serve left in the spool move into the outbox first, in order", async () => {
    const t = await setup();
    const spool = await Spool.open(spoolPath(t.home));
    await spool.add([msg(0), msg(1)]);
    await spool.close();
    await t.sink.held();
    await t.sink.deliver([{ ...msg(0), id: "cron:j:later:0" }]);
    t.up();
    await until("all three", () => t.sent.length === 3);
    expect(t.sent.map((m) => m.id)).toEqual([`cron:j:${slot}:0`, `cron:j:${slot}:1`, "cron:j:later:0"]);
    const reread = await Spool.open(spoolPath(t.home));
    expect(reread.pending).toEqual([]);
    await reread.close();
  });
});
