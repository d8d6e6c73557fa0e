/**
 * Telegram end to end with the compiled binary (Bun) against the Bot API test server: a message reaches the
 * echo agent and the reply arrives; a revoked token is `failed`; webhook mode; the proxy variables; and
 * `lint config --online`. All of the process's output is searched for the token.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanEnv, hermesAsync } from "../helpers/cli.ts";
import {
  capturedOutput,
  freePort,
  type GatewayProcess,
  platformStatus,
  startGatewayHome,
  status,
  waitFor,
} from "../helpers/gateway.ts";
import { makeHome } from "../helpers/home.ts";
import { ConnectProxy } from "../kit/connect-proxy.ts";
import { TelegramTestServer, UNRESOLVABLE_API_BASE } from "../kit/telegram-server.ts";

const TOKEN = "7312846519:AAHe2eSecretTokenValue_doNotLeakMe0123";
let server: TelegramTestServer | undefined;
let proxy: ConnectProxy | undefined;

afterEach(async () => {
  await server?.close();
  await proxy?.close();
  server = undefined;
  proxy = undefined;
});

async function gateway(extraBlock = "", env: Record<string, string> = {}) {
  server = await TelegramTestServer.start(TOKEN);
  const started = await startGatewayHome({
    platforms: `  telegram:\n    allowed_users: [555]\n    api_base: ${server.url}\n    poll_timeout: 1s\n${extraBlock}`,
    env: `TELEGRAM_BOT_TOKEN=${TOKEN}\n`,
    processEnv: env,
  });
  return { ...started, server };
}

const telegramState = (gw: GatewayProcess) => platformStatus(gw, "telegram");

describe("Telegram through the compiled binary", () => {
  it("a message reaches the echo agent and the reply arrives; a revoked token is `failed`; the token leaks nowhere", async () => {
    const { gw, server } = await gateway();
    await waitFor("telegram connected", async () => (await telegramState(gw))?.state === "connected");
    server.pushMessage({ chatId: 555, userId: 555, text: "hello from Telegram" });
    await waitFor("the reply", () => server.sent.length >= 1);
    expect(server.sent[0]).toMatchObject({ chat_id: "555", text: "hello from Telegram" });
    expect(server.sent[0]?.reply_parameters?.message_id).toBeGreaterThan(0);
    // A user not in allowed_users gets nothing.
    server.pushMessage({ chatId: 666, userId: 666, text: "let me in" });
    await waitFor("the refusal to be logged", () => gw.logs.some((l) => l.event === "message.refused"));
    expect(server.sent.filter((m) => m.chat_id === "666")).toEqual([]);

    server.rejectToken = true;
    await waitFor("telegram failed", async () => (await telegramState(gw))?.state === "failed", 15_000);
    expect((await telegramState(gw))?.reason).toMatch(/rejected the token \(401/);
    expect((await status(gw)).state).toBe("degraded");

    const output = await capturedOutput(gw);
    expect(output).toContain("rejected the token");
    expect(output).not.toContain(TOKEN);
    expect(output).not.toContain(TOKEN.split(":")[1]);
  });

  it("webhook mode: setWebhook with a secret, updates POSTed with it are answered, a wrong secret is 401", async () => {
    const tg = await TelegramTestServer.start(TOKEN);
    server = tg;
    const { gw, port } = await startGatewayHome({
      platforms: (port) =>
        `  telegram:\n    mode: webhook\n    webhook_secret: \${TELEGRAM_WEBHOOK_SECRET}\n    webhook_url: http://127.0.0.1:${port}/webhooks/telegram\n    allowed_users: [555]\n    api_base: ${tg.url}\n`,
      env: `TELEGRAM_BOT_TOKEN=${TOKEN}\nTELEGRAM_WEBHOOK_SECRET=hook-secret_0123456789\n`,
    });
    await waitFor("telegram connected", async () => (await telegramState(gw))?.state === "connected");
    expect(tg.webhook).toEqual({
      url: `http://127.0.0.1:${port}/webhooks/telegram`,
      secret_token: "hook-secret_0123456789",
    });
    const message = (text: string) => ({
      message: { message_id: 41, date: 1, chat: { id: 555, type: "private" }, from: { id: 555 }, text },
    });
    expect((await tg.deliverWebhook(message("forged"), "wrong-secret")).status).toBe(401);
    expect((await tg.deliverWebhook(message("via webhook"))).status).toBe(200);
    await waitFor("the reply", () => tg.sent.length >= 1);
    expect(tg.sent.map((m) => m.text)).toEqual(["via webhook"]);
    expect(await capturedOutput(gw)).not.toContain(TOKEN);
  });

  it("webhook mode on the platform's own listener (listen): only the webhook route is served there", async () => {
    const own = await freePort();
    const tg = await TelegramTestServer.start(TOKEN);
    server = tg;
    const { gw } = await startGatewayHome({
      platforms: `  telegram:\n    mode: webhook\n    listen: 127.0.0.1:${own}\n    webhook_url: http://127.0.0.1:${own}/webhooks/telegram\n    allowed_users: [555]\n    api_base: ${tg.url}\n`,
      env: `TELEGRAM_BOT_TOKEN=${TOKEN}\n`,
    });
    await waitFor("telegram connected", async () => (await telegramState(gw))?.state === "connected");
    await waitFor("the own listener", () => gw.logs.some((l) => l.event === "http.platform"));
    const update = {
      message: {
        message_id: 7,
        date: 1,
        chat: { id: 555, type: "private" },
        from: { id: 555 },
        text: "own port",
      },
    };
    expect((await tg.deliverWebhook(update)).status).toBe(200);
    await waitFor("the reply", () => tg.sent.length >= 1);
    expect(tg.sent.map((m) => m.text)).toEqual(["own port"]);
    // The gateway's state and admin routes are not on that port.
    expect((await fetch(`http://127.0.0.1:${own}/status`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${own}/v1/send`, { method: "POST" })).status).toBe(404);
  });

  it("ALL_PROXY: every request of the gateway goes through the proxy", async () => {
    proxy = await ConnectProxy.start();
    const { gw, server } = await gateway("", { ALL_PROXY: proxy.url });
    await waitFor("telegram connected", async () => (await telegramState(gw))?.state === "connected");
    server.pushMessage({ chatId: 555, userId: 555, text: "proxied" });
    await waitFor("the reply", () => server.sent.length >= 1);
    const through = proxy.to(`127.0.0.1:${server.port}`);
    expect(through.length).toBeGreaterThanOrEqual(server.calls.length);
    expect(server.calls).toEqual(expect.arrayContaining(["getMe", "getUpdates", "sendMessage"]));
  });
});

describe("hermes send with no gateway running", () => {
  it("sends straight through the Bot API, split at 4096", async () => {
    server = await TelegramTestServer.start(TOKEN);
    const h = makeHome({
      config: `platforms:\n  telegram:\n    allowed_users: [555]\n    api_base: ${server.url}\n`,
      env: `TELEGRAM_BOT_TOKEN=${TOKEN}\n`,
    });
    const text = `${"a".repeat(4000)}\n\n${"b".repeat(200)}`;
    const run = await hermesAsync(["send", "telegram:555", text, "--home", h]);
    expect(run.stdout).toMatch(/^sent: [0-9a-f-]{36} \(directly to telegram:555; no gateway is running\)\n$/);
    expect(server.sent.map((m) => [m.chat_id, m.text.length])).toEqual([
      ["555", 4000],
      ["555", 200],
    ]);
    expect(run.stdout + run.stderr).not.toContain(TOKEN);
  });
});

describe("lint config --online", () => {
  const home = (apiBase: string, token = TOKEN) =>
    makeHome({
      config: `platforms:\n  telegram:\n    allowed_users: [555]\n    api_base: ${apiBase}\n`,
      env: `TELEGRAM_BOT_TOKEN=${token}\n`,
    });

  it("a valid token: exit 0, and the bot is named", async () => {
    server = await TelegramTestServer.start(TOKEN);
    const run = await hermesAsync(["lint", "config", "--online", "--home", home(server.url)]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("online: telegram accepted its credentials (@hermes_test_bot)");
    expect(server.calls).toEqual(["getMe"]);
    expect(run.stdout + run.stderr).not.toContain(TOKEN);
  });

  it("a revoked token: token-rejected, exit 1, the source named and the value not shown", async () => {
    server = await TelegramTestServer.start(TOKEN);
    server.rejectToken = true;
    const h = home(server.url);
    const run = await hermesAsync(["lint", "config", "--online", "--format", "json", "--home", h]);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as {
      diagnostics: { rule: string; file: string; message: string }[];
    };
    const found = report.diagnostics.find((d) => d.rule === "token-rejected");
    expect(found?.file).toBe(join(h, ".env"));
    expect(found?.message).toMatch(/Telegram refused the credentials of platform "telegram"/);
    expect(run.stdout + run.stderr).not.toContain(TOKEN);
    // Without --online nothing is asked.
    const offline = await hermesAsync(["lint", "config", "--home", h]);
    expect(offline.code).toBe(0);
    expect(server.calls).toEqual([]);
  });

  it("an unreachable API: online-unreachable, a warning (exit 0; 1 with --strict)", async () => {
    // https: a plain-http api_base is allowed for loopback hosts only.
    const h = home(UNRESOLVABLE_API_BASE.replace("http:", "https:"));
    const run = await hermesAsync(["lint", "config", "--online", "--format", "json", "--home", h]);
    expect(run.code).toBe(0);
    const rules = (JSON.parse(run.stdout) as { diagnostics: { rule: string }[] }).diagnostics.map(
      (d) => d.rule,
    );
    expect(rules).toContain("online-unreachable");
    const strict = await hermesAsync(["lint", "config", "--online", "--strict", "--home", h]);
    expect(strict.code).toBe(1);
  });

  // The binary (Bun's fetch), the Node bundle (undici, loaded only there) and Deno (an HttpClient).
  for (const runtime of ["binary", "node", "deno"] as const) {
    it(`goes through ALL_PROXY like the gateway, and NO_PROXY bypasses it (${runtime})`, async () => {
      server = await TelegramTestServer.start(TOKEN);
      proxy = await ConnectProxy.start();
      const h = home(server.url);
      const run = await hermesAsync(["lint", "config", "--online", "--home", h], {
        env: cleanEnv({ ALL_PROXY: proxy.url }),
        runtime,
      });
      expect(run.stderr).toContain("online: telegram accepted its credentials");
      expect(run.code).toBe(0);
      expect(proxy.to(`127.0.0.1:${server.port}`)).toHaveLength(1);
      const direct = await hermesAsync(["lint", "config", "--online", "--home", h], {
        env: cleanEnv({ ALL_PROXY: proxy.url, NO_PROXY: "127.0.0.1" }),
        runtime,
      });
      expect(direct.stderr).toContain("online: telegram accepted its credentials");
      expect(proxy.seen).toHaveLength(1);
      expect(server.count("getMe")).toBe(2);
    });
  }
});
