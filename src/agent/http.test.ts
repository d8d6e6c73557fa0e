import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { InboundMessage } from "../platforms/adapter.ts";
import { AgentError } from "./agent.ts";
import { httpAgent } from "./http.ts";

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

/** A loopback agent server; `handle` answers request number n (1-based) and sees its JSON body. */
async function server(handle: (n: number, body: unknown, res: ServerResponse, req: IncomingMessage) => void) {
  let n = 0;
  const s = createServer((req, res) => {
    let data = "";
    req.on("data", (c) => {
      data += c;
    });
    req.on("end", () => handle(++n, JSON.parse(data), res, req));
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  closers.push(() => s.close());
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/agent`, requests: () => n };
}

const message: InboundMessage = {
  platform: "telegram",
  chatId: "42",
  userId: "7",
  messageId: "m1",
  text: "hi $(rm -rf /) `x`",
  at: new Date("2026-12-01T10:00:00Z"),
};
const signal = new AbortController().signal;

describe("the http agent", () => {
  it("posts the message as JSON and takes {text}, {reply} or a text body as the reply; 204 is no reply", async () => {
    const bodies: unknown[] = [];
    const s = await server((n, body, res) => {
      bodies.push(body);
      if (n === 1)
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ text: "one" }));
      else if (n === 2)
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ reply: "two" }));
      else if (n === 3) res.writeHead(200, { "content-type": "text/plain" }).end("three");
      else res.writeHead(204).end();
    });
    const agent = httpAgent({
      url: s.url,
      timeoutMs: 2000,
      retries: 0,
      headers: { authorization: "Bearer t" },
    });
    expect(await agent.reply(message, signal)).toBe("one");
    expect(await agent.reply(message, signal)).toBe("two");
    expect(await agent.reply(message, signal)).toBe("three");
    expect(await agent.reply(message, signal)).toBe("");
    expect(bodies[0]).toEqual({
      platform: "telegram",
      chat_id: "42",
      user_id: "7",
      message_id: "m1",
      text: "hi $(rm -rf /) `x`",
      at: "2026-12-01T10:00:00.000Z",
    });
  });

  it("retries 5xx and then answers; does not retry a 4xx, which is an error with the body for the log", async () => {
    const flaky = await server((n, _b, res) => {
      if (n < 3) res.writeHead(503).end("busy");
      else res.writeHead(200, { "content-type": "text/plain" }).end("finally");
    });
    expect(await httpAgent({ url: flaky.url, timeoutMs: 5000, retries: 2 }).reply(message, signal)).toBe(
      "finally",
    );
    expect(flaky.requests()).toBe(3);

    const refusing = await server((_n, _b, res) => res.writeHead(401).end("bad key"));
    const error = await httpAgent({ url: refusing.url, timeoutMs: 5000, retries: 2 })
      .reply(message, signal)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentError);
    expect(error).toMatchObject({ short: "HTTP 401", detail: "bad key" });
    expect(refusing.requests()).toBe(1);
  });

  it("gives up after its retries, and at its timeout", async () => {
    const down = await server((_n, _b, res) => res.writeHead(500).end());
    await expect(
      httpAgent({ url: down.url, timeoutMs: 5000, retries: 1 }).reply(message, signal),
    ).rejects.toThrow("HTTP 500");
    expect(down.requests()).toBe(2);

    const silent = await server(() => {});
    await expect(
      httpAgent({ url: silent.url, timeoutMs: 150, retries: 3 }).reply(message, signal),
    ).rejects.toThrow(/no answer within 0.15 s/);
  });
});
