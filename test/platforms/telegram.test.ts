/**
 * The Telegram adapter against the Bot API test server: the conformance suite every adapter passes, then what
 * is Telegram's own (offset after the journal, 409, 429, splitting, webhook mode, an unresolvable api_base).
 */
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/log/logger.ts";
import type { AdapterContext, InboundMessage, ReceiveResult } from "../../src/platforms/adapter.ts";
import { PlatformError } from "../../src/platforms/adapter.ts";
import { createTelegramAdapter, pollTiming, SECRET_HEADER } from "../../src/platforms/telegram/adapter.ts";
import telegram from "../../src/platforms/telegram/manifest.ts";
import { waitFor } from "../helpers/wait.ts";
import { adapterConformance, connected, supervise } from "../kit/conformance.ts";
import { GRACE_MS, POLL_TIMEOUT_MS, TOKEN, telegramDriver } from "../kit/telegram-driver.ts";
import { TelegramTestServer, UNRESOLVABLE_API_BASE } from "../kit/telegram-server.ts";

const manifest = { ...telegram, livenessMs: 3000 };
const factory = (ctx: AdapterContext) =>
  createTelegramAdapter(ctx, { pollGraceMs: GRACE_MS, idleCheckMs: 200, refusedPauseMs: 50 });

adapterConformance({
  manifest,
  factory,
  silenceDetectionMs: POLL_TIMEOUT_MS + GRACE_MS,
  start: async () => telegramDriver(await TelegramTestServer.start(TOKEN)),
});

let server: TelegramTestServer;
afterEach(async () => {
  await server?.close();
});

describe("Telegram long polling", () => {
  it("keeps every poll within timeout + grace, and never more than 60 s in all", () => {
    expect(pollTiming(30_000, 10_000)).toEqual({ timeoutS: 30, deadlineMs: 40_000 });
    expect(pollTiming(300_000, 10_000).deadlineMs).toBe(60_000);
    expect(pollTiming(0, 10_000).timeoutS).toBe(1);
  });

  it("confirms an update (the next offset) only after the gateway has it in its journal", async () => {
    server = await TelegramTestServer.start(TOKEN);
    let release!: () => void;
    const journaled = new Promise<void>((r) => {
      release = r;
    });
    const received: InboundMessage[] = [];
    const ctx = context(server, async (m) => {
      received.push(m);
      await journaled;
      return { status: "accepted", id: "1" };
    });
    const adapter = createTelegramAdapter(ctx.ctx, { pollGraceMs: GRACE_MS });
    const running = adapter.run().catch(() => {});
    const id = server.pushMessage({ chatId: 9, userId: 9, text: "hold me" });
    await waitFor("the message to be handed over", () => received.length === 1);
    // The journal has not got it: whatever the adapter asks, the update stays unconfirmed.
    await waitFor("a poll at least", () => server.count("getUpdates") >= 1);
    expect(server.confirmedOffset).toBeLessThanOrEqual(id);
    expect(server.unconfirmed).toBe(1);
    release();
    await waitFor("the update to be confirmed", () => server.confirmedOffset === id + 1, 5000);
    expect(received[0]).toMatchObject({ platform: "telegram", chatId: "9", userId: "9", text: "hold me" });
    ctx.abort();
    await running;
  });

  it("does not confirm updates the gateway could not take, and offers them again", async () => {
    server = await TelegramTestServer.start(TOKEN);
    let refuse = true;
    const offered: string[] = [];
    const ctx = context(server, async (m) => {
      offered.push(m.messageId);
      return refuse ? { status: "unavailable" } : { status: "accepted", id: m.messageId };
    });
    const adapter = createTelegramAdapter(ctx.ctx, { pollGraceMs: GRACE_MS, refusedPauseMs: 20 });
    const running = adapter.run().catch(() => {});
    const id = server.pushMessage({ chatId: 9, userId: 9, text: "later please" });
    await waitFor("two offers", () => offered.length >= 2);
    expect(new Set(offered).size).toBe(1);
    expect(server.confirmedOffset).toBeLessThanOrEqual(id);
    refuse = false;
    await waitFor("the update to be confirmed", () => server.confirmedOffset === id + 1, 5000);
    ctx.abort();
    await running;
  });

  it("drains a burst of 1,000 updates in order, 100 per poll", async () => {
    server = await TelegramTestServer.start(TOKEN);
    const texts: string[] = [];
    const ctx = context(server, async (m) => {
      texts.push(m.text);
      return { status: "accepted", id: m.messageId };
    });
    const running = createTelegramAdapter(ctx.ctx)
      .run()
      .catch(() => {});
    server.burst(1000, { chatId: 1, userId: 1 });
    await waitFor("1,000 messages", () => texts.length === 1000, 15_000);
    expect(texts.slice(0, 3)).toEqual(["burst 0", "burst 1", "burst 2"]);
    expect(texts[999]).toBe("burst 999");
    await waitFor("all confirmed", () => server.unconfirmed === 0, 5000);
    ctx.abort();
    await running;
  });

  it("a 409 conflict backs off, is announced, and is never `failed`", async () => {
    server = await TelegramTestServer.start(TOKEN);
    server.conflict = true;
    const announced: string[] = [];
    const h = supervise(manifest, factory, telegramDriver(server));
    h.supervisor.options.onAnnounce = (reason) => announced.push(reason);
    await waitFor("three attempts", () => h.supervisor.status.attempts >= 3, 10_000);
    expect(h.supervisor.status.reason).toMatch(/conflict \(409\)/);
    expect(h.states).not.toContain("failed");
    expect(h.states).not.toContain("connected");
    expect(announced.length).toBeGreaterThanOrEqual(1);
    const error = (await createTelegramAdapter(
      context(server, async () => ({ status: "accepted", id: "x" })).ctx,
    )
      .run()
      .catch((e: unknown) => e)) as PlatformError;
    expect(error).toMatchObject({ kind: "transient", announce: true, backoffCapMs: 5 * 60_000 });
    server.conflict = false;
    await connected(h);
  });

  it("a 429 waits exactly parameters.retry_after", async () => {
    server = await TelegramTestServer.start(TOKEN);
    server.rateLimit = { count: 1, retryAfter: 3 };
    const ctx = context(server, async () => ({ status: "accepted", id: "x" }));
    const error = await createTelegramAdapter(ctx.ctx)
      .run()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlatformError);
    expect(error).toMatchObject({ kind: "rate_limit", retryAfterMs: 3000 });
  });

  it("an unresolvable api_base is a transient error naming the host, never the token", async () => {
    const ctx = context(undefined, async () => ({ status: "accepted", id: "x" }));
    ctx.ctx.block.api_base = UNRESOLVABLE_API_BASE;
    const error = (await createTelegramAdapter(ctx.ctx)
      .run()
      .catch((e: unknown) => e)) as PlatformError;
    expect(error.kind).toBe("transient");
    expect(error.message).toMatch(/cannot reach api\.telegram\.invalid/);
    expect(error.message).not.toContain(TOKEN);
  });
});

describe("Telegram sending", () => {
  it("splits at 4096 characters, replies to the message with the first part only", async () => {
    server = await TelegramTestServer.start(TOKEN);
    const ctx = context(server, async () => ({ status: "accepted", id: "x" }));
    const adapter = createTelegramAdapter(ctx.ctx);
    const text = `${"a".repeat(4000)}\n\n${"b".repeat(4000)}\n\n${"c".repeat(100)}`;
    await adapter.send({ id: "m1", platform: "telegram", chatId: "77", text, inReplyTo: "77:12" });
    expect(server.sent.map((s) => s.text.length)).toEqual([4000, 4000, 100]);
    expect(server.sent.every((s) => [...s.text].length <= 4096)).toBe(true);
    expect(server.sent[0]?.reply_parameters).toEqual({ message_id: 12, allow_sending_without_reply: true });
    expect(server.sent[1]?.reply_parameters).toBeUndefined();
  });

  it("a retry after a failed part sends only the parts not yet delivered", async () => {
    server = await TelegramTestServer.start(TOKEN);
    let sendCalls = 0;
    const adapter = createTelegramAdapter(
      context(server, async () => ({ status: "accepted", id: "x" })).ctx,
      {
        // The second sendMessage (the second part) meets a 500 once.
        fetch: async (url, init) => {
          if (url.endsWith("/sendMessage") && ++sendCalls === 2) server.sendFailures = 1;
          return fetch(url, init);
        },
      },
    );
    const message = {
      id: "m2",
      platform: "telegram",
      chatId: "1",
      text: `${"a".repeat(4090)}\n\n${"b".repeat(10)}`,
      inReplyTo: null,
    };
    expect(await adapter.send(message).catch((e: unknown) => e)).toMatchObject({ kind: "transient" });
    expect(server.sent.map((s) => s.text[0])).toEqual(["a"]);
    await adapter.send(message);
    expect(server.sent.map((s) => s.text[0])).toEqual(["a", "b"]);
  });

  it("classifies send errors: 429 with its wait, 400 as protocol, 401 as auth", async () => {
    server = await TelegramTestServer.start(TOKEN);
    const adapter = createTelegramAdapter(context(server, async () => ({ status: "accepted", id: "x" })).ctx);
    const send = (chatId: string) =>
      adapter
        .send({
          id: `s-${chatId}-${Math.random()}`,
          platform: "telegram",
          chatId,
          text: "hi",
          inReplyTo: null,
        })
        .catch((e: unknown) => e);
    server.rateLimit = { count: 1, retryAfter: 5 };
    expect(await send("1")).toMatchObject({ kind: "rate_limit", retryAfterMs: 5000 });
    expect(await send("")).toMatchObject({ kind: "protocol" });
    server.rejectToken = true;
    const auth = (await send("1")) as PlatformError;
    expect(auth.kind).toBe("auth");
    expect(auth.message).not.toContain(TOKEN);
  });
});

describe("Telegram webhook mode", () => {
  it("sets the webhook with a secret, takes updates carrying it, and answers 401 to a wrong one", async () => {
    server = await TelegramTestServer.start(TOKEN);
    const received: InboundMessage[] = [];
    const ctx = context(server, async (m) => {
      received.push(m);
      return { status: "accepted", id: m.messageId };
    });
    ctx.ctx.block.mode = "webhook";
    ctx.ctx.block.webhook_url = "http://127.0.0.1:1/webhooks/telegram";
    const adapter = createTelegramAdapter(ctx.ctx, { idleCheckMs: 50 });
    const running = adapter.run().catch((e: unknown) => e);
    await waitFor("the webhook to be set", () => server.webhook !== null);
    await waitFor("connected", () => ctx.connected > 0);
    const secret = server.webhook?.secret_token ?? "";
    expect(secret).toMatch(/^[A-Za-z0-9_-]{16,256}$/);
    expect(secret).not.toContain(TOKEN);
    const update = (text: string) =>
      new Request("http://127.0.0.1/webhooks/telegram", {
        method: "POST",
        headers: { "content-type": "application/json", [SECRET_HEADER]: secret },
        body: JSON.stringify({
          update_id: 1,
          message: { message_id: 5, date: 1, chat: { id: 3, type: "private" }, from: { id: 3 }, text },
        }),
      });
    const wrong = update("forged");
    wrong.headers.set(SECRET_HEADER, "not-the-secret");
    expect((await adapter.webhook!(wrong)).status).toBe(401);
    const missing = update("no header");
    missing.headers.delete(SECRET_HEADER);
    expect((await adapter.webhook!(missing)).status).toBe(401);
    expect((await adapter.webhook!(update("genuine"))).status).toBe(200);
    expect(received.map((m) => m.text)).toEqual(["genuine"]);
    // An idle bot still shows life: getMe every idle check.
    const before = ctx.progress;
    await waitFor("an idle getMe", () => ctx.progress > before + 1);
    ctx.abort();
    expect(await running).toBeUndefined();
  });

  it("without webhook_url it is `failed`-class (auth kind) with a message naming the key", async () => {
    server = await TelegramTestServer.start(TOKEN);
    const ctx = context(server, async () => ({ status: "accepted", id: "x" }));
    ctx.ctx.block.mode = "webhook";
    const error = (await createTelegramAdapter(ctx.ctx)
      .run()
      .catch((e: unknown) => e)) as PlatformError;
    expect(error.kind).toBe("auth");
    expect(error.message).toMatch(/platforms\.telegram\.webhook_url/);
  });
});

/** A bare AdapterContext for tests that drive the adapter without a supervisor. */
function context(s: TelegramTestServer | undefined, receive: (m: InboundMessage) => Promise<ReceiveResult>) {
  const controller = new AbortController();
  const state = {
    connected: 0,
    progress: 0,
    events: [] as string[],
    abort: () => controller.abort(new PlatformError("transient", "stopped")),
    ctx: {
      manifest: telegram,
      block: { require_mention: false, api_base: s?.url, poll_timeout: POLL_TIMEOUT_MS } as Record<
        string,
        unknown
      > as AdapterContext["block"],
      credentials: { token: TOKEN },
      signal: controller.signal,
      log: silentLogger,
      progress: () => {
        state.progress++;
      },
      connected: () => {
        state.connected++;
      },
      count: (event: string) => {
        state.events.push(event);
      },
      receive,
    } satisfies AdapterContext,
  };
  return state;
}
