/**
 * All platforms down for a while, then back: every result produced meanwhile is delivered once, in order, after
 * they return; results older than the outbox TTL go to failure_deliver instead (here the probe test platform,
 * which was down too: its notices wait in the outbox and arrive when it is back).
 */
import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, startGateway, waitFor, waitReady } from "../helpers/gateway.ts";
import { makeHome } from "../helpers/home.ts";
import { type Receiver, receiver, SECRET } from "../helpers/receiver.ts";

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** The probe platform's API on a fixed port, which the test can take down and bring back. */
async function probeApi(port: number) {
  const sent: { id: string; chatId: string; text: string }[] = [];
  let server: Server | undefined;
  const up = () =>
    new Promise<void>((resolve) => {
      server = createServer((req, res) => {
        let raw = "";
        req.on("data", (c) => (raw += c));
        req.on("end", () => {
          if (req.url === "/send") sent.push(JSON.parse(raw));
          setTimeout(() => res.end("{}"), req.url === "/poll" ? 100 : 0);
        });
      });
      servers.push(server);
      server.listen(port, "127.0.0.1", () => resolve());
    });
  const down = () =>
    new Promise<void>((resolve) => {
      server!.closeAllConnections();
      server!.close(() => resolve());
    });
  await up();
  return { base: `http://127.0.0.1:${port}`, sent, up, down };
}

const slotOf = (id: string) =>
  Date.parse(/^cron:tick:([^:]+:[^:]+:[^:]+):0(:failed:0)?$/.exec(id)?.[1] ?? "");

describe("all platforms down, then back", () => {
  it("results wait in the outbox and go out once, in order; older than outbox_ttl they go to failure_deliver", async () => {
    const port = await freePort();
    const replyPort = await freePort();
    const api = await probeApi(await freePort());
    let r: Receiver = await receiver(undefined, replyPort);
    const home = makeHome({
      config: `gateway:
  http: { listen: "127.0.0.1:${port}" }
  outbox_ttl: 5s
  reconnect: { initial: 200ms, max: 1s }
platforms:
  webhook: { allow_all: true, home_channel: ops, reply_url: "http://127.0.0.1:${replyPort}/reply" }
  probe: { api_base: "${api.base}", allowed_users: [1], home_channel: alerts }
cron:
  jobs:
    - id: tick
      schedule: every 1s
      message: result
      deliver: [webhook:ops]
      failure_deliver: [probe:alerts]
`,
      env: `WEBHOOK_SECRET=${SECRET}\nPROBE_TOKEN=good-token-1234\n`,
    });
    const gw = startGateway({ home, harness: true, env: { HERMES_TEST_LIVENESS_MS: "60000" } });
    await waitFor(
      "both connected",
      async () => ((await waitReady(gw)).state === "running" ? true : undefined),
      15_000,
    );
    await waitFor("results before the outage", () => r.delivered().length >= 2);
    const before = [...r.delivered()];

    // Down: the reply_url refuses connections, the probe platform's API is gone.
    await r.close();
    await api.down();
    const downAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 8000));
    await api.up();
    r = await receiver(undefined, replyPort);
    const upAt = Date.now();
    // Everything produced during the outage has come out one way or the other.
    const settled = (slot: number) =>
      r.delivered().some((d) => slotOf(d.body.id) === slot) || api.sent.some((m) => slotOf(m.id) === slot);
    await waitFor(
      "every slot of the outage delivered or reported",
      () => {
        for (let s = Math.ceil(downAt / 1000) * 1000; s <= upAt - 1000; s += 1000)
          if (!settled(s)) return false;
        return true;
      },
      15_000,
    );
    await gw.control("POST", "/admin/stop");
    await gw.exited;

    const after = r.delivered();
    const delivered = [...before, ...after].map((d) => d.body.id);
    const notices = api.sent.filter((m) => m.chatId === "alerts");
    // Once: no id twice, at either end; in order: the receiver saw the slots ascending.
    expect(new Set(delivered).size).toBe(delivered.length);
    expect(new Set(notices.map((n) => n.id)).size).toBe(notices.length);
    const afterSlots = after.map((d) => slotOf(d.body.id));
    expect(afterSlots).toEqual([...afterSlots].sort((a, b) => a - b));
    // Each slot either delivered or, expired, told to failure_deliver; never both.
    const deliveredSlots = new Set(delivered.map(slotOf));
    for (const n of notices) {
      expect(n.id).toMatch(/^cron:tick:.+:0:failed:0$/);
      expect(n.text).toMatch(
        /^⚠️ Job tick could not deliver its result to webhook:ops: not delivered within outbox_ttl \(5 s\)/,
      );
      expect(deliveredSlots.has(slotOf(n.id))).toBe(false);
    }
    // The outage produced both kinds: results older than the TTL, and younger ones delivered after it.
    expect(notices.length).toBeGreaterThanOrEqual(2);
    expect(afterSlots.filter((s) => s >= downAt && s < upAt).length).toBeGreaterThanOrEqual(2);
    const all = [...deliveredSlots, ...notices.map((n) => slotOf(n.id))].sort((a, b) => a - b);
    for (let i = 1; i < all.length; i++) expect(all[i]! - all[i - 1]!).toBe(1000);
  }, 60_000);
});
