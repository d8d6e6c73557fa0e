/**
 * Outbound requests go through the proxy the environment names, on Node (this process: undici's ProxyAgent)
 * and with the compiled Bun binary (test/platforms/telegram-e2e.test.ts). The proxy records every target, so
 * "it went through" is observed, not assumed.
 */
import { createServer } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { httpAgent } from "../../src/agent/http.ts";
import { silentLogger } from "../../src/log/logger.ts";
import type { AdapterContext } from "../../src/platforms/adapter.ts";
import { createTelegramAdapter } from "../../src/platforms/telegram/adapter.ts";
import telegram from "../../src/platforms/telegram/manifest.ts";
import { outboundFetch } from "../../src/runtime/fetch.ts";
import { ConnectProxy } from "../kit/connect-proxy.ts";
import { TOKEN } from "../kit/telegram-driver.ts";
import { TelegramTestServer } from "../kit/telegram-server.ts";

const VARS = [
  "HTTPS_PROXY",
  "HTTP_PROXY",
  "ALL_PROXY",
  "NO_PROXY",
  "https_proxy",
  "http_proxy",
  "all_proxy",
  "no_proxy",
];
const saved = Object.fromEntries(VARS.map((v) => [v, process.env[v]]));
let proxy: ConnectProxy | undefined;
let server: TelegramTestServer | undefined;

afterEach(async () => {
  for (const v of VARS) {
    if (saved[v] === undefined) delete process.env[v];
    else process.env[v] = saved[v];
  }
  await proxy?.close();
  await server?.close();
});

function setProxyEnv(env: Record<string, string>): void {
  for (const v of VARS) delete process.env[v];
  Object.assign(process.env, env);
}

const ctx = (apiBase: string): AdapterContext => ({
  manifest: telegram,
  block: { require_mention: false, api_base: apiBase },
  credentials: { token: TOKEN },
  signal: new AbortController().signal,
  log: silentLogger,
  progress() {},
  connected() {},
  count() {},
  receive: async () => ({ status: "accepted", id: "x" }),
});

describe("proxies on Node", () => {
  it("ALL_PROXY: the adapter's requests and replies go through the proxy (CONNECT)", async () => {
    proxy = await ConnectProxy.start();
    server = await TelegramTestServer.start(TOKEN);
    setProxyEnv({ ALL_PROXY: proxy.url });
    const adapter = createTelegramAdapter(ctx(server.url));
    await adapter.send({ id: "p1", platform: "telegram", chatId: "5", text: "via proxy", inReplyTo: null });
    expect(server.sent.map((m) => m.text)).toEqual(["via proxy"]);
    const target = `127.0.0.1:${server.port}`;
    expect(proxy.to(target).length).toBeGreaterThanOrEqual(1);
    expect(proxy.to(target)[0]?.method).toBe("CONNECT");
  });

  it("NO_PROXY exempts a host: the request goes direct", async () => {
    proxy = await ConnectProxy.start();
    server = await TelegramTestServer.start(TOKEN);
    setProxyEnv({ ALL_PROXY: proxy.url, NO_PROXY: "localhost,127.0.0.1" });
    const response = await outboundFetch(`${server.url}/bot${TOKEN}/getMe`);
    expect(response.status).toBe(200);
    await response.text();
    expect(proxy.seen).toEqual([]);
  });

  it("HTTPS_PROXY: an https API is reached by CONNECT to its name; the proxy, not us, resolves it", async () => {
    proxy = await ConnectProxy.start();
    proxy.refuseTargets.add("api.telegram.invalid");
    setProxyEnv({ HTTPS_PROXY: proxy.url });
    const error = (await createTelegramAdapter(ctx("https://api.telegram.invalid"))
      .run()
      .catch((e: unknown) => e)) as Error;
    expect(proxy.seen).toEqual([{ method: "CONNECT", target: "api.telegram.invalid:443" }]);
    // Refused by the proxy: a transient error that never shows the token.
    expect(error.message).toMatch(/cannot reach api\.telegram\.invalid/);
    expect(error.message).not.toContain(TOKEN);
  });

  it("the http agent is called through the proxy too; NO_PROXY keeps a local agent direct", async () => {
    proxy = await ConnectProxy.start();
    const agentServer = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ text: "from the agent" }));
      });
    });
    await new Promise<void>((resolve) => agentServer.listen(0, "127.0.0.1", resolve));
    try {
      const target = `127.0.0.1:${(agentServer.address() as { port: number }).port}`;
      const agent = httpAgent({ url: `http://${target}/reply`, timeoutMs: 5000, retries: 0 });
      const message = {
        platform: "webhook",
        chatId: "c1",
        userId: "u1",
        messageId: "m1",
        text: "hi",
        at: new Date(),
      };
      setProxyEnv({ ALL_PROXY: proxy.url });
      expect(await agent.reply(message, new AbortController().signal)).toBe("from the agent");
      expect(proxy.to(target)).toHaveLength(1);
      setProxyEnv({ ALL_PROXY: proxy.url, NO_PROXY: "127.0.0.1" });
      expect(await agent.reply(message, new AbortController().signal)).toBe("from the agent");
      expect(proxy.to(target)).toHaveLength(1);
    } finally {
      await new Promise((resolve) => agentServer.close(resolve));
    }
  });
});
