/** Outbound delivery: retried on 5xx and 429 (no faster than asked), in order, once; dead letters after the TTL. */
import { describe, expect, it } from "vitest";
import { hermes, hermesAsync } from "../helpers/cli.ts";
import { freePort, startGateway, status, waitFor, waitReady } from "../helpers/gateway.ts";
import { makeHome } from "../helpers/home.ts";
import { receiver, SECRET } from "../helpers/receiver.ts";

async function gatewayTo(replyUrl: string, extra = "") {
  const port = await freePort();
  const home = makeHome({
    config: `gateway:\n  http: { listen: "127.0.0.1:${port}" }\n  reconnect: { initial: 50ms, max: 200ms }\n${extra}platforms:\n  webhook: { allow_all: true, home_channel: ops, reply_url: "${replyUrl}" }\n`,
    env: `WEBHOOK_SECRET=${SECRET}\n`,
  });
  const gw = startGateway({ home });
  await waitFor("webhook connected", async () =>
    (await waitReady(gw)).platforms.webhook?.state === "connected" ? true : undefined,
  );
  const send = async (text: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/send`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ target: "webhook:ops", text }),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  };
  return { gw, home, port, send };
}

describe("outbound delivery", () => {
  it("500s, then 429 with Retry-After, then success: each message once, in order, no sooner than asked", async () => {
    const r = await receiver((n) =>
      n < 4 ? { status: 500 } : n < 6 ? { status: 429, headers: { "retry-after": "1" } } : { status: 200 },
    );
    const { send } = await gatewayTo(r.url);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await send(`message ${i}`));
    await waitFor("five deliveries", () => r.delivered().length === 5, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(r.delivered().map((d) => d.body.id)).toEqual(ids);
    expect(r.delivered().map((d) => d.body.text)).toEqual([0, 1, 2, 3, 4].map((i) => `message ${i}`));
    expect(r.requests.every((d) => d.signatureOk)).toBe(true);
    // Retries of one message keep its id; after each 429 the next try waited at least the second it asked.
    expect(new Set(r.requests.slice(0, 7).map((d) => d.body.id))).toEqual(new Set([ids[0]]));
    for (const i of [4, 5]) expect(r.requests[i + 1]!.at - r.requests[i]!.at).toBeGreaterThanOrEqual(1000);
  }, 30_000);

  it("a receiver down longer than outbox_ttl: dead letters, listed, retried, then delivered", async () => {
    const port = await freePort();
    const { home, gw, send } = await gatewayTo(`http://127.0.0.1:${port}/reply`, "  outbox_ttl: 1s\n");
    const ids = [await send("first"), await send("second")];
    await waitFor("two dead letters", async () => (await status(gw)).outbox.dead === 2, 10_000);
    expect(gw.logs.filter((l) => l.event === "outbox.dead").length).toBe(2);
    const listed = JSON.parse(hermes(["outbox", "list", "--dead", "--json", "--home", home]).stdout);
    expect(listed.messages.map((m: { id: string }) => m.id).sort()).toEqual([...ids].sort());
    expect(listed.messages[0].reason).toContain("outbox_ttl");
    expect(hermes(["outbox", "list", "--home", home]).stdout).toBe("no undelivered messages\n");

    const r = await receiver(() => ({ status: 200 }), port);
    const retried = hermes(["outbox", "retry", "--dead", "--home", home]);
    expect(retried).toMatchObject({ code: 0, stdout: "retrying: 2 messages\n" });
    await waitFor("both delivered", () => r.delivered().length === 2, 10_000);
    expect(r.delivered().map((d) => d.body.id)).toEqual(ids);
    expect((await status(gw)).outbox).toEqual({ pending: 0, dead: 0 });
  }, 30_000);

  it("with no gateway running: outbox list reads the journal; purge and retry take the lock", async () => {
    const port = await freePort();
    const { home, gw, send } = await gatewayTo(`http://127.0.0.1:${port}/reply`, "  outbox_ttl: 1s\n");
    await send("will die");
    await waitFor("a dead letter", async () => (await status(gw)).outbox.dead === 1, 10_000);
    gw.child.kill("SIGTERM");
    await gw.exited;
    expect(
      JSON.parse(hermes(["outbox", "list", "--dead", "--json", "--home", home]).stdout).messages,
    ).toHaveLength(1);
    expect(hermes(["outbox", "purge", "--dead", "--home", home]).stdout).toBe("purged: 1 message\n");
    expect(hermes(["outbox", "list", "--dead", "--home", home]).stdout).toBe("no dead letters\n");
  }, 30_000);

  it("hermes send goes through the running gateway, or straight to the platform when none runs", async () => {
    const r = await receiver();
    const { home, gw } = await gatewayTo(r.url);
    const through = hermes(["send", "webhook", "via the gateway", "--home", home]);
    expect(through.code).toBe(0);
    expect(through.stdout).toMatch(/^accepted: [0-9a-f-]{36} \(queued by the running gateway\)\n$/);
    await waitFor("the delivery", () => r.delivered().length === 1);
    gw.child.kill("SIGTERM");
    await gw.exited;
    // Asynchronously: the receiver lives in this process and must keep answering meanwhile.
    const direct = await hermesAsync(["send", "webhook:room-2", "no gateway", "--home", home]);
    expect(direct.stdout).toMatch(
      /^sent: [0-9a-f-]{36} \(directly to webhook:room-2; no gateway is running\)\n$/,
    );
    expect(r.delivered().map((d) => [d.body.chat_id, d.body.text, d.signatureOk])).toEqual([
      ["ops", "via the gateway", true],
      ["room-2", "no gateway", true],
    ]);
    expect(hermes(["send", "telegram", "x", "--home", home])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining("not enabled"),
    });
  }, 30_000);
});
