/**
 * The Discord adapter under the real Supervisor against the Discord test server: the conformance suite, then
 * what is particular to Discord (Identify and Resume, the heartbeat, op 7, op 9, every close code, replay
 * after an unjournalled message, REST splitting and 429, a burst). Heartbeats are 200 ms (ACK deadline 50 ms).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Logger } from "../../src/log/logger.ts";
import { type AdapterContext, PlatformError, type ReceiveResult } from "../../src/platforms/adapter.ts";
import { createDiscordAdapter } from "../../src/platforms/discord/adapter.ts";
import discord from "../../src/platforms/discord/manifest.ts";
import { classifyClose } from "../../src/platforms/discord/protocol.ts";
import type { PlatformManifest } from "../../src/platforms/manifest.ts";
import { waitFor } from "../helpers/wait.ts";
import { adapterConformance, connected, supervise } from "../kit/conformance.ts";
import { CHANNEL, discordDriver, HEARTBEAT_MS, TOKEN } from "../kit/discord-driver.ts";
import { CLOSE_CODES, DiscordTestServer, PRIVILEGED, UNRESOLVABLE_API_BASE } from "../kit/discord-server.ts";

/** The manifest with the watchdog's limit scaled down (the adapter's own deadline is the interval's). */
const manifest: PlatformManifest = { ...discord, livenessMs: 2000 };
const factory = (ctx: Parameters<typeof createDiscordAdapter>[0]) => createDiscordAdapter(ctx);

adapterConformance({
  manifest,
  factory,
  start: async () =>
    discordDriver(await DiscordTestServer.start(TOKEN, { heartbeatIntervalMs: HEARTBEAT_MS })),
  silenceDetectionMs: HEARTBEAT_MS + HEARTBEAT_MS / 4,
});

let server: DiscordTestServer;
afterEach(async () => {
  await server?.close();
});

async function start(
  block: Record<string, unknown> = {},
  options: Parameters<typeof supervise>[3] = {},
  before: (server: DiscordTestServer) => void = () => {},
) {
  server = await DiscordTestServer.start(TOKEN, { heartbeatIntervalMs: HEARTBEAT_MS });
  before(server);
  const driver = discordDriver(server);
  return supervise(manifest, factory, { ...driver, block: { ...driver.block, ...block } }, options);
}

describe("Discord gateway", () => {
  it("GET /gateway/bot, then Identify with the configured intents at ?v=10&encoding=json", async () => {
    const h = await start({ intents: ["GUILD_MESSAGES", "DIRECT_MESSAGES", "MESSAGE_CONTENT"] });
    await connected(h);
    expect(server.calls[0]).toBe("GET /gateway/bot");
    expect(server.connections).toEqual([{ path: "/gateway", query: { v: "10", encoding: "json" } }]);
    expect(server.identifies).toEqual([
      {
        intents: (1 << 9) | (1 << 12) | (1 << 15),
        tokenOk: true,
        properties: expect.objectContaining({ browser: "hermes" }),
      },
    ]);
    await waitFor("heartbeats", () => server.count("heartbeat") >= 2, 5000);
    expect(h.supervisor.status.state).toBe("connected");
  });

  it("the first heartbeat comes at a random point of the interval (random 0: at once, not after 60 s)", async () => {
    server = await DiscordTestServer.start(TOKEN, { heartbeatIntervalMs: 60_000 });
    const h = supervise(
      manifest,
      (ctx) => createDiscordAdapter(ctx, { random: () => 0 }),
      discordDriver(server),
    );
    await connected(h);
    await waitFor("the first heartbeat", () => server.count("heartbeat") === 1, 5000);
  });

  it("a dropped connection resumes the session at resume_gateway_url; nothing is identified twice", async () => {
    const h = await start();
    await connected(h);
    server.userSays({ text: "before" });
    await waitFor("the first echo", () => server.sent.length === 1);
    server.dropConnections();
    server.userSays({ text: "while down" });
    await waitFor("the resumed echo", () => server.sent.length === 2, 5000);
    expect(server.identifies).toHaveLength(1);
    expect(server.resumes).toEqual([expect.objectContaining({ tokenOk: true, seq: 2 })]);
    expect(server.connections.at(-1)).toEqual({ path: "/resume", query: { v: "10", encoding: "json" } });
    expect(h.received.map((m) => m.text)).toEqual(["before", "while down"]);
    expect(h.supervisor.status.reconnects).toBe(1);
  });

  it("op 7 Reconnect: closed with a resumable code and resumed at once (no backoff wait)", async () => {
    const h = await start();
    await connected(h);
    server.requestReconnect();
    await waitFor("the resume", () => server.resumes.length === 1, 5000);
    await connected(h);
    expect(server.clientCloses).toContain(4200);
    const i = h.states.lastIndexOf("backoff");
    expect(h.reasons[i]).toBe("Discord asked for a reconnect (op 7)");
    expect(h.supervisor.status.reconnects).toBe(1);
  });

  it("op 9 resumable resumes; op 9 not resumable identifies again", async () => {
    const h = await start();
    await connected(h);
    server.invalidateSession(true);
    await waitFor("the resume", () => server.resumes.length === 1, 5000);
    await waitFor("connected again", () => h.supervisor.status.reconnects === 1, 5000);
    server.invalidateSession(false);
    await waitFor("a second Identify", () => server.identifies.length === 2, 5000);
    await waitFor("connected again", () => h.supervisor.status.reconnects === 2, 5000);
    expect(server.resumes).toHaveLength(1);
  });

  it("a Resume the server no longer knows is answered op 9 false: the adapter identifies again", async () => {
    const h = await start();
    await connected(h);
    server.closeAll(4009);
    await waitFor("a second Identify", () => server.identifies.length === 2, 5000);
    await connected(h);
    expect(server.resumes).toEqual([]);
  });

  it("every close code: 4004 and 4010–4014 are `failed` with the reason, the rest resume or identify", async () => {
    for (const code of Object.keys(CLOSE_CODES).map(Number)) {
      const h = await start();
      await connected(h);
      const verdict = classifyClose(code, 0);
      if (code === 4004) server.rejectToken = true;
      server.closeAll(code);
      if (verdict.action === "fatal") {
        await waitFor(`failed after ${code}`, () => h.supervisor.status.state === "failed", 5000);
        expect(h.supervisor.status.reason).toContain(`close ${code}`);
      } else {
        await waitFor(`reconnected after ${code}`, () => h.supervisor.status.reconnects === 1, 5000);
        const resumable = CLOSE_CODES[code]?.resumable;
        expect(server.resumes.length, `resumes after ${code}`).toBe(resumable ? 1 : 0);
        expect(server.identifies.length, `identifies after ${code}`).toBe(resumable ? 1 : 2);
      }
      await h.stop();
      await server.close();
    }
  });

  it("a privileged intent not enabled: `failed`, the reason names it in plain words", async () => {
    server = await DiscordTestServer.start(TOKEN, { heartbeatIntervalMs: HEARTBEAT_MS });
    server.allowedPrivileged = PRIVILEGED.GUILD_MEMBERS;
    const h = supervise(manifest, factory, discordDriver(server));
    await waitFor("failed", () => h.supervisor.status.state === "failed", 5000);
    expect(h.supervisor.status.reason).toMatch(/^privileged intent MESSAGE_CONTENT not enabled for this bot/);
    expect(h.states).not.toContain("connected");
  });

  it("a message the journal could not take is not confirmed: the resume replays it", async () => {
    let available = false;
    let refused = 0;
    // Undefined lets the harness accept the message as usual.
    const receive = () => {
      if (available) return undefined as unknown as ReceiveResult;
      refused++;
      return { status: "unavailable" } as const;
    };
    const h = await start({}, { receive });
    await connected(h);
    server.userSays({ text: "while the journal is closed" });
    await waitFor("the refusal", () => refused === 1, 5000);
    available = true;
    server.dropConnections();
    await waitFor("the replayed message", () => h.received.length === 1, 5000);
    expect(server.resumes[0]?.seq).toBe(1);
    expect(h.received[0]?.text).toBe("while the journal is closed");
  });

  it("bots' messages (its own replies included) are not for the agent; a guild mention is stripped", async () => {
    const h = await start();
    await connected(h);
    server.userSays({ text: "from another bot", bot: true });
    server.userSays({ text: "from myself", userId: "123456789012345678" });
    server.userSays({ text: "<@123456789012345678> hello", guildId: "77", mentions: ["123456789012345678"] });
    // Dispatches are handled in order: once the last one is in, the two before it were skipped.
    await waitFor("the mention", () => h.received.length >= 1);
    expect(h.received).toEqual([expect.objectContaining({ text: "hello", group: true, mentioned: true })]);
  });

  it("a burst of 1,000 messages: each received once and answered", async () => {
    const h = await start();
    await connected(h);
    server.burst(1000, { chats: 10 });
    await waitFor("1,000 echoes", () => server.sent.length === 1000, 30_000);
    expect(new Set(h.received.map((m) => m.messageId)).size).toBe(1000);
    expect(h.received).toHaveLength(1000);
  });

  it("connections refused, then back: backoff, then connected", async () => {
    const h = await start();
    await connected(h);
    await server.refuse();
    await waitFor("attempts while refused", () => h.supervisor.status.attempts >= 3, 5000);
    expect(h.supervisor.status.reason).toMatch(/^cannot reach the gateway at 127\.0\.0\.1:\d+: ECONNREFUSED/);
    await server.resume();
    await waitFor("reconnected", () => h.supervisor.status.reconnects === 1, 5000);
  });

  it("an unresolvable host and malformed JSON from /gateway/bot are retried, never `failed`", async () => {
    const h = await start({ api_base: UNRESOLVABLE_API_BASE });
    await waitFor("attempts", () => h.supervisor.status.attempts >= 2, 10_000);
    expect(h.supervisor.status.reason).toMatch(/^cannot reach discord\.invalid: (ENOTFOUND|EAI_AGAIN)/);
    await h.stop();
    await server.close();

    const again = await start({}, {}, (s) => {
      s.malformedRest = 2;
    });
    await connected(again);
    const backoffs = again.states.flatMap((state, i) => (state === "backoff" ? [again.reasons[i]] : []));
    expect(backoffs).toEqual([expect.stringMatching(/not JSON/), expect.stringMatching(/not JSON/)]);
  });

  it("a stalled handshake (no Hello) is torn down by the watchdog and retried", async () => {
    server = await DiscordTestServer.start(TOKEN, { heartbeatIntervalMs: HEARTBEAT_MS });
    server.stall = true;
    const h = supervise({ ...manifest, livenessMs: 300 }, factory, discordDriver(server));
    await waitFor("the watchdog", () => h.reasons.some((r) => r?.startsWith("no progress")), 5000);
    server.stall = false;
    await connected(h);
  });
});

describe("Discord REST", () => {
  const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
  const ctx = (): AdapterContext => ({
    manifest: discord,
    block: { api_base: server.url } as AdapterContext["block"],
    credentials: { token: TOKEN },
    signal: new AbortController().signal,
    log: silent,
    progress() {},
    connected() {},
    count() {},
    receive: async () => ({ status: "accepted", id: "x" }),
  });

  it("splits at 2000, replies to the first part, pings nobody; a retry resumes at the part that failed", async () => {
    server = await DiscordTestServer.start(TOKEN);
    const text = `${"a".repeat(1990)} ${"b".repeat(1990)} ${"c".repeat(500)}`;
    const message = {
      id: "m1",
      platform: "discord",
      chatId: CHANNEL,
      text,
      inReplyTo: "1300000000000000009",
    };
    // The second part fails once: the retry sends parts 2 and 3 only.
    let calls = 0;
    const failing = createDiscordAdapter(ctx(), {
      fetch: async (url, init) => {
        calls++;
        if (calls === 2)
          return new Response(JSON.stringify({ message: "500: Internal Server Error", code: 0 }), {
            status: 500,
          });
        return fetch(url, init);
      },
    });
    const error = await failing.send(message).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlatformError);
    expect((error as PlatformError).kind).toBe("transient");
    await failing.send(message);
    expect(server.sent.map((m) => m.content.length)).toEqual([1990, 1990, 500]);
    expect(server.sent.map((m) => m.message_reference?.message_id)).toEqual([
      "1300000000000000009",
      undefined,
      undefined,
    ]);
    expect(server.sent[0]?.allowed_mentions).toEqual({ parse: [] });
  });

  it("429: rate_limit with retry_after from the body; the global flag is said", async () => {
    server = await DiscordTestServer.start(TOKEN);
    const adapter = createDiscordAdapter(ctx());
    server.rateLimit = { count: 1, retryAfter: 1.5, global: true };
    const error = (await adapter
      .send({ id: "m2", platform: "discord", chatId: CHANNEL, text: "x", inReplyTo: null })
      .catch((e: unknown) => e)) as PlatformError;
    expect(error.kind).toBe("rate_limit");
    expect(error.retryAfterMs).toBe(1500);
    expect(error.message).toMatch(/global rate limit \(429\), retry after 1\.5 s/);
    await adapter.send({ id: "m2", platform: "discord", chatId: CHANNEL, text: "x", inReplyTo: null });
    expect(server.sent.map((m) => m.content)).toEqual(["x"]);
  });

  it("a rejected token on send is `auth`; a chat id that is not a snowflake is refused before any request", async () => {
    server = await DiscordTestServer.start(TOKEN);
    const adapter = createDiscordAdapter(ctx());
    server.rejectToken = true;
    const error = (await adapter
      .send({ id: "m3", platform: "discord", chatId: CHANNEL, text: "x", inReplyTo: null })
      .catch((e: unknown) => e)) as PlatformError;
    expect(error.kind).toBe("auth");
    expect(error.message).not.toContain(TOKEN);
    const bad = (await adapter
      .send({ id: "m4", platform: "discord", chatId: "general", text: "x", inReplyTo: null })
      .catch((e: unknown) => e)) as PlatformError;
    expect(bad.kind).toBe("protocol");
    expect(server.calls.filter((c) => c.startsWith("POST"))).toEqual([]);
  });
});

describe("lint config --online for Discord", () => {
  it("GET /users/@me: valid with the bot's name, rejected on 401, unreachable when nobody answers", async () => {
    const { checkDiscordToken } = await import("../../src/platforms/discord/online.ts");
    server = await DiscordTestServer.start(TOKEN);
    const ask = (token: string, api_base = server.url) =>
      checkDiscordToken({ credentials: { token }, block: { api_base }, timeoutMs: 2000 });
    expect(await ask(TOKEN)).toEqual({ status: "valid", identity: "hermes-test (123456789012345678)" });
    expect(await ask("MTIzNDU2Nzg5MDEyMzQ1Njc4.wrong.wrongwrongwrongwrongwrong")).toMatchObject({
      status: "rejected",
      message: expect.stringMatching(/^Discord rejected the bot token \(401 on GET \/users\/@me\)/),
    });
    expect(await ask(TOKEN, UNRESOLVABLE_API_BASE)).toMatchObject({ status: "unreachable" });
  });
});
