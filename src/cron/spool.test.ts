import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { silentLogger } from "../log/logger.ts";
import { Spool, SpoolSink, spoolPath } from "./spool.ts";

const dirs: string[] = [];
const servers: Server[] = [];
const sinks: SpoolSink[] = [];
afterEach(async () => {
  for (const s of sinks.splice(0)) await s.stop();
  for (const s of servers.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function home(): string {
  const dir = mkdtempSync(join(tmpdir(), "hermes-spool-"));
  dirs.push(dir);
  mkdirSync(join(dir, "run"));
  return dir;
}

const result = (n: number, target = "webhook:ops", failureTargets: string[] = []) => ({
  id: `cron:j:2026-05-01T10:00:0${n}.000Z:0`,
  target,
  text: `result ${n}`,
  failureTargets,
});

/**
 * A gateway's control socket: /v1/send (one message, or a batch `{"messages": [...]}` with one result each)
 * answered per message by `answer`, /admin/outbox from `outbox`.
 */
function fakeGateway(dir: string, answer: (body: { target: string; id: string }) => number = () => 202) {
  const sent: Record<string, unknown>[] = [];
  /** How many messages each /v1/send request carried. */
  const requests: number[] = [];
  const outbox = { pending: [] as { id: string }[], dead: [] as { id: string }[] };
  const one = (m: { target: string; id: string }) => {
    const status = answer(m);
    if (status === 202) sent.push(m);
    return status === 202 ? { status, id: m.id } : { status, error: `refused (${status})` };
  };
  const server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      if (req.url === "/v1/send") {
        const body = JSON.parse(raw);
        if (Array.isArray(body.messages)) {
          requests.push(body.messages.length);
          res.writeHead(200).end(JSON.stringify({ results: body.messages.map(one) }));
        } else {
          requests.push(1);
          const { status, ...rest } = one(body);
          res.writeHead(status).end(JSON.stringify(rest));
        }
      } else if (req.url?.startsWith("/admin/outbox")) {
        const dead = req.url.includes("state=dead");
        res.end(JSON.stringify({ messages: dead ? outbox.dead : outbox.pending }));
      } else res.writeHead(404).end("{}");
    });
  });
  servers.push(server);
  const listening = new Promise<void>((resolve) => server.listen(join(dir, "run", "gateway.sock"), resolve));
  return { sent, requests, outbox, listening, server };
}

function sink(dir: string, ttlMs = 60_000) {
  const s = new SpoolSink({ home: dir, log: silentLogger, ttlMs: () => ttlMs, retryMs: 50 });
  sinks.push(s);
  return s;
}

const until = (what: string, check: () => boolean, timeout = 5000) =>
  vi.waitUntil(check, { timeout, interval: 10 }).catch(() => {
    throw new Error(`timed out waiting for ${what}`);
  });

describe("the spool", () => {
  it("replays what is not done yet, in order, and remembers outcomes", async () => {
    const path = join(home(), "cron", "spool.journal");
    const spool = await Spool.open(path);
    await spool.add([result(1), result(2), result(3)]);
    await spool.add([result(2)]);
    await spool.done(result(1).id, "forwarded");
    await spool.close();
    const again = await Spool.open(path);
    expect(again.pending.map((m) => m.text)).toEqual(["result 2", "result 3"]);
    expect(again.outcomes.get(result(1).id)).toBe("forwarded");
    await again.close();
  });
});

describe("cron serve's delivery through the spool", () => {
  it("keeps results while no gateway answers, then forwards them in order with their ids and failure targets", async () => {
    const dir = home();
    const s = sink(dir);
    await s.held();
    expect(await s.deliver([result(1, "webhook:ops", ["probe:alerts"]), result(2)])).toEqual([]);
    await s.deliver([result(3)]);
    await new Promise((r) => setTimeout(r, 150));
    expect(s.pending()).toBe(3);
    const gateway = fakeGateway(dir);
    await gateway.listening;
    await until("forwarded", () => gateway.sent.length === 3);
    expect(gateway.sent).toEqual([
      { target: "webhook:ops", text: "result 1", id: result(1).id, failure_targets: ["probe:alerts"] },
      { target: "webhook:ops", text: "result 2", id: result(2).id },
      { target: "webhook:ops", text: "result 3", id: result(3).id },
    ]);
    // In one request: the gateway's outbox takes them in order, and writes them together.
    expect(gateway.requests).toEqual([3]);
    // Taken off the pending list at once (so nothing is sent twice), on disk once the journal's write is done.
    await until(
      "recorded as forwarded",
      () => readFileSync(spoolPath(dir), "utf8").split('"t":"done"').length === 4,
    );
    const replayed = await Spool.open(spoolPath(dir));
    expect(replayed.pending).toEqual([]);
    expect([...replayed.outcomes.values()]).toEqual(["forwarded", "forwarded", "forwarded"]);
    await replayed.close();
    // The gateway's outbox then says what became of them.
    gateway.outbox.pending.push({ id: result(2).id });
    const outcomes: string[] = [];
    s.follow("j", "2026-05-01T10:00:01.000Z", (o) => outcomes.push(`1:${o}`));
    s.follow("j", "2026-05-01T10:00:02.000Z", (o) => outcomes.push(`2:${o}`));
    await until("the first verdict", () => outcomes.length === 1);
    expect(outcomes).toEqual(["1:delivered"]);
    gateway.outbox.pending.length = 0;
    gateway.outbox.dead.push({ id: result(2).id });
    await until("the second verdict", () => outcomes.length === 2);
    expect(outcomes[1]).toBe("2:failed");
  });

  it("a result older than outbox_ttl goes to its failure targets and the log instead", async () => {
    const dir = home();
    const s = sink(dir, 100);
    await s.held();
    await s.deliver([result(1, "webhook:ops", ["probe:alerts"])]);
    const outcomes: string[] = [];
    s.follow("j", "2026-05-01T10:00:01.000Z", (o) => outcomes.push(o));
    await until("the verdict", () => outcomes.length === 1);
    expect(outcomes).toEqual(["failed"]);
    await new Promise((r) => setTimeout(r, 20));
    // The notice waits in the spool too (it is younger), and has no failure targets of its own.
    const gateway = fakeGateway(dir);
    await gateway.listening;
    await until("the notice", () => gateway.sent.length === 1);
    expect(gateway.sent[0]).toEqual({
      target: "probe:alerts",
      id: `${result(1).id}:failed:0`,
      text: `⚠️ Job j could not deliver its result to webhook:ops: not delivered within outbox_ttl (0 s): no gateway took it`,
    });
  });

  it("a target the gateway does not take now (409) keeps its later results back, in order; others go", async () => {
    const dir = home();
    let enabled = false;
    const gateway = fakeGateway(dir, (body) => (body.target.startsWith("slack") && !enabled ? 409 : 202));
    await gateway.listening;
    const s = sink(dir);
    await s.held();
    await s.deliver([result(1, "slack:c"), result(2, "webhook:ops"), result(3, "slack:c")]);
    await until("the webhook one", () => gateway.sent.length === 1);
    expect(gateway.sent[0]!.target).toBe("webhook:ops");
    enabled = true;
    await until("the held ones", () => gateway.sent.length === 3);
    expect(gateway.sent.map((m) => m.text)).toEqual(["result 2", "result 1", "result 3"]);
  });

  it("a refused result goes to its failure targets; a gateway that does not take results keeps them spooled", async () => {
    const dir = home();
    let refuse = 400;
    const gateway = fakeGateway(dir, (body) => (body.target === "nope:c" ? refuse : 202));
    await gateway.listening;
    const s = sink(dir);
    await s.held();
    const outcomes: string[] = [];
    s.follow("j", "2026-05-01T10:00:01.000Z", (o) => outcomes.push(o));
    await s.deliver([result(1, "nope:c", ["webhook:ops"]), result(2)]);
    await until("the notice", () => gateway.sent.length === 2);
    expect(gateway.sent.map((m) => [m.target, m.id])).toEqual([
      ["webhook:ops", result(2).id],
      ["webhook:ops", `${result(1).id}:failed:0`],
    ]);
    await until("the verdict", () => outcomes.length === 1);
    expect(outcomes).toEqual(["failed"]);
    // 503 (stopping): nothing is lost, it is tried again.
    refuse = 503;
    await s.deliver([result(3, "nope:c")]);
    await new Promise((r) => setTimeout(r, 200));
    expect(s.pending()).toBe(1);
    refuse = 202;
    await until("taken once it answers", () => gateway.sent.length === 3);
    expect(gateway.sent[2]!.id).toBe(result(3).id);
  });

  it("opens the spool only when this process holds the lock (a standby never writes it)", async () => {
    const dir = home();
    const s = sink(dir);
    expect(s.pending()).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(spoolPath(dir))).toBe(false);
    await s.held();
    expect(existsSync(spoolPath(dir))).toBe(true);
  });
});
