/** The generic webhook platform end to end through the compiled binary: signed in → echo agent → signed out. */
import { describe, expect, it } from "vitest";
import { sign } from "../../src/platforms/webhook/signature.ts";
import { freePort, startGateway, status, waitFor, waitReady } from "../helpers/gateway.ts";
import { makeHome } from "../helpers/home.ts";
import { receiver, SECRET } from "../helpers/receiver.ts";

async function gateway(replyUrl: string) {
  const port = await freePort();
  const home = makeHome({
    config: `gateway:\n  http: { listen: "127.0.0.1:${port}" }\nplatforms:\n  webhook:\n    allowed_users: [u1, 42]\n    home_channel: ops\n    reply_url: ${replyUrl}\n`,
    env: `WEBHOOK_SECRET=${SECRET}\n`,
  });
  const gw = startGateway({ home });
  await waitFor("webhook connected", async () =>
    (await waitReady(gw)).platforms.webhook?.state === "connected" ? true : undefined,
  );
  const post = (body: string, headers: Record<string, string>) =>
    fetch(`http://127.0.0.1:${port}/webhooks/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
  return { gw, port, post };
}

describe("the webhook platform", () => {
  it("a signed message reaches the echo agent and the reply is POSTed, signed, to reply_url", async () => {
    const r = await receiver();
    const { gw, post } = await gateway(r.url);
    const body = JSON.stringify({ chat_id: "c1", user_id: "u1", text: "hello hermes", message_id: "m-1" });
    const res = await post(body, { "x-hermes-signature": sign(SECRET, body) });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await waitFor("the reply", () => r.requests.length === 1);
    expect(r.requests[0]).toMatchObject({
      signatureOk: true,
      body: { chat_id: "c1", text: "hello hermes", in_reply_to: "m-1" },
    });
    // The reply id derives from the accepted message: processing it again after a crash yields the same id.
    expect(r.requests[0]!.body.id).toBe(`${id}.0`);
    // The same message again is a duplicate: nothing is processed twice.
    const again = await post(body, { "x-hermes-signature": sign(SECRET, body) });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ duplicate: true });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(r.requests).toHaveLength(1);
    expect((await status(gw)).platforms.webhook).toMatchObject({
      last_inbound_at: expect.any(String),
      last_outbound_at: expect.any(String),
    });
  });

  it("a signed timestamp is accepted when fresh; numeric ids are strings", async () => {
    const r = await receiver();
    const { post } = await gateway(r.url);
    const ts = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ chat_id: 7, user_id: 42, text: "with time", message_id: 9 });
    const res = await post(body, {
      "x-hermes-signature": sign(SECRET, body, ts),
      "x-hermes-timestamp": String(ts),
    });
    expect(res.status).toBe(202);
    await waitFor("the reply", () => r.requests.length === 1);
    expect(r.requests[0]!.body).toMatchObject({ chat_id: "7", in_reply_to: "9" });
  });

  it("bad or missing signature, stale timestamp: 401 and nothing processed; a user not allowed: 403", async () => {
    const r = await receiver();
    const { post } = await gateway(r.url);
    const body = JSON.stringify({ chat_id: "c1", user_id: "u1", text: "x", message_id: "m-2" });
    const old = Math.floor(Date.now() / 1000) - 600;
    expect((await post(body, {})).status).toBe(401);
    expect((await post(body, { "x-hermes-signature": sign("another-secret-value", body) })).status).toBe(401);
    expect(
      (await post(body, { "x-hermes-signature": sign(SECRET, body, old), "x-hermes-timestamp": String(old) }))
        .status,
    ).toBe(401);
    const stranger = JSON.stringify({ chat_id: "c1", user_id: "mallory", text: "x", message_id: "m-3" });
    expect((await post(stranger, { "x-hermes-signature": sign(SECRET, stranger) })).status).toBe(403);
    expect((await post("not json", { "x-hermes-signature": sign(SECRET, "not json") })).status).toBe(400);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(r.requests).toEqual([]);
  });

  it("replies to one chat arrive in the order the messages came in", async () => {
    const r = await receiver();
    const { post } = await gateway(r.url);
    for (let i = 0; i < 30; i++) {
      const body = JSON.stringify({ chat_id: "ordered", user_id: "u1", text: `#${i}`, message_id: `o-${i}` });
      expect((await post(body, { "x-hermes-signature": sign(SECRET, body) })).status).toBe(202);
    }
    await waitFor("30 replies", () => r.requests.length === 30);
    expect(r.requests.map((x) => x.body.text)).toEqual(Array.from({ length: 30 }, (_, i) => `#${i}`));
  });

  it("POST /v1/send goes to the home channel or a named chat", async () => {
    const r = await receiver();
    const { port } = await gateway(r.url);
    const send = (target: string) =>
      fetch(`http://127.0.0.1:${port}/v1/send`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ target, text: `to ${target}` }),
      });
    expect((await send("webhook")).status).toBe(202);
    expect((await send("webhook:room-9")).status).toBe(202);
    expect((await send("telegram")).status).toBe(409);
    expect((await send("nowhere")).status).toBe(400);
    await waitFor("two deliveries", () => r.requests.length === 2);
    // Two chats are delivered to independently (order is kept per chat only).
    expect(r.requests.map((x) => [x.body.chat_id, x.body.text, x.body.in_reply_to]).sort()).toEqual([
      ["ops", "to webhook", null],
      ["room-9", "to webhook:room-9", null],
    ]);
  });
});
