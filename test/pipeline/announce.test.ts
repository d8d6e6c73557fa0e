/** Admins hear about trouble in their home channel: a dead letter on one platform is announced on another. */
import { createServer } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, startGateway, status, waitFor, waitReady } from "../helpers/gateway.ts";
import { makeHome } from "../helpers/home.ts";
import { SECRET } from "../helpers/receiver.ts";

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

/** The probe platform's API: accepts the token, holds polls briefly, records what is sent to chats. */
async function probeApi() {
  const sent: { chatId: string; text: string }[] = [];
  const server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      if (req.url === "/send") sent.push(JSON.parse(raw));
      setTimeout(() => res.end("{}"), req.url === "/poll" ? 100 : 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => server.close());
  return { base: `http://127.0.0.1:${(server.address() as { port: number }).port}`, sent };
}

describe("announcements to admins", () => {
  it("a dead letter on the webhook is announced in the probe platform's home channel, once", async () => {
    const port = await freePort();
    const deadPort = await freePort();
    const api = await probeApi();
    const home = makeHome({
      config: `gateway:
  http: { listen: "127.0.0.1:${port}" }
  outbox_ttl: 1s
platforms:
  webhook: { allow_all: true, home_channel: ops, reply_url: "http://127.0.0.1:${deadPort}/reply" }
  probe: { api_base: "${api.base}", allowed_users: [1], admins: [1], home_channel: admins-room }
`,
      env: `WEBHOOK_SECRET=${SECRET}\nPROBE_TOKEN=good-token-1234\n`,
    });
    const gw = startGateway({ home, harness: true });
    await waitFor("both connected", async () =>
      (await waitReady(gw)).state === "running" ? true : undefined,
    );
    const res = await fetch(`http://127.0.0.1:${port}/v1/send`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ target: "webhook:ops", text: "deploy finished" }),
    });
    expect(res.status).toBe(202);
    await waitFor("the announcement", () => api.sent.length >= 1, 10_000);
    expect(api.sent[0]).toMatchObject({ chatId: "admins-room" });
    expect(api.sent[0]!.text).toMatch(
      /^⚠️ A message to webhook:ops could not be delivered \(not delivered within outbox_ttl/,
    );
    expect((await status(gw)).outbox).toEqual({ pending: 0, dead: 1 });
    await new Promise((r) => setTimeout(r, 300));
    expect(api.sent).toHaveLength(1);
  }, 30_000);
});
