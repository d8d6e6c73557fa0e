/**
 * The Slack adapter against the Slack test server: the conformance suite every adapter passes, then what is
 * Slack's own (ack after the journal, a fresh URL per connection, disconnect reasons, close codes, zombie links,
 * Web API errors, the burst, `--online`).
 */
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/log/logger.ts";
import type { AdapterContext, InboundMessage, ReceiveResult } from "../../src/platforms/adapter.ts";
import { PlatformError } from "../../src/platforms/adapter.ts";
import { createSlackAdapter } from "../../src/platforms/slack/adapter.ts";
import slack from "../../src/platforms/slack/manifest.ts";
import { checkSlackTokens } from "../../src/platforms/slack/online.ts";
import { sleep, waitFor } from "../helpers/wait.ts";
import { adapterConformance, connected, supervise } from "../kit/conformance.ts";
import { APP_TOKEN, BOT_TOKEN, SCALED, scaledFactory, slackDriver, TOKENS } from "../kit/slack-driver.ts";
import { BOT_USER, SlackTestServer, TEAM, UNRESOLVABLE_API_BASE } from "../kit/slack-server.ts";

const manifest = { ...slack, livenessMs: 3000 };

adapterConformance({
  manifest,
  factory: scaledFactory(),
  silenceDetectionMs: SCALED.pingIntervalMs + SCALED.pongTimeoutMs,
  start: async () => slackDriver(await SlackTestServer.start(TOKENS)),
});

let server: SlackTestServer;
afterEach(async () => {
  await server?.close();
});

const start = async () => {
  server = await SlackTestServer.start(TOKENS);
  return server;
};
const run = (factory = scaledFactory()) => supervise(manifest, factory, slackDriver(server));
const sinceConnected = (h: { states: string[] }) => h.states.slice(h.states.indexOf("connected") + 1);

describe("Slack Socket Mode", () => {
  it("acks an envelope only once the gateway has the message in its journal", async () => {
    await start();
    let release!: () => void;
    const journaled = new Promise<void>((r) => {
      release = r;
    });
    const received: InboundMessage[] = [];
    const c = context(async (m) => {
      received.push(m);
      await journaled;
      return { status: "accepted", id: "1" };
    });
    const running = createSlackAdapter(c.ctx, SCALED)
      .run()
      .catch(() => {});
    await waitFor("connected", () => c.state.connected === 1);
    const { envelopeId } = server.pushMessage({ channel: "D0A", user: "U0A", text: "hold me" });
    await waitFor("the message to be handed over", () => received.length === 1);
    // Pings keep flowing meanwhile, and still no ack.
    const pings = server.pingsReceived;
    await waitFor("a few pings", () => server.pingsReceived >= pings + 2);
    expect(server.acks).toEqual([]);
    release();
    await waitFor("the ack", () => server.acks.includes(envelopeId), 5000);
    expect(received[0]).toMatchObject({ platform: "slack", chatId: "D0A", userId: "U0A", text: "hold me" });
    expect(received[0]?.group).toBeUndefined();
    c.abort();
    await running;
  });

  it("does not ack what the gateway could not take: Slack sends it again, and then it is acked once", async () => {
    await start();
    server.redeliverAfterMs = 100;
    let refuse = true;
    const offered: string[] = [];
    const c = context(async (m) => {
      offered.push(m.messageId);
      return refuse ? { status: "unavailable" } : { status: "accepted", id: m.messageId };
    });
    const running = createSlackAdapter(c.ctx, SCALED)
      .run()
      .catch(() => {});
    await waitFor("connected", () => c.state.connected === 1);
    const { envelopeId } = server.pushMessage({ channel: "D0A", user: "U0A", text: "later please" });
    await waitFor("two offers", () => offered.length >= 2);
    expect(new Set(offered).size).toBe(1);
    expect(server.acks).toEqual([]);
    refuse = false;
    await waitFor("the ack", () => server.acks.includes(envelopeId), 5000);
    expect(server.unacked).toBe(0);
    c.abort();
    await running;
  });

  it("opens every connection on a fresh URL from apps.connections.open", async () => {
    await start();
    const h = run();
    await connected(h);
    for (let i = 1; i <= 3; i++) {
      server.dropConnections();
      await waitFor(`reconnect ${i}`, () => h.supervisor.status.reconnects >= i && server.openLinks === 1);
    }
    expect(server.count("apps.connections.open")).toBe(4);
    expect(server.ticketsUsed).toHaveLength(4);
    expect(new Set(server.ticketsUsed).size).toBe(4);
    // auth.test once per attempt: the bot token is checked on every connection.
    expect(server.count("auth.test")).toBe(4);
  });

  it("refresh_requested rotates the link on a fresh URL without leaving connected; warning alone does not", async () => {
    await start();
    const h = run();
    await connected(h);
    server.disconnect("warning");
    await sleep(300);
    expect(server.ticketsUsed).toHaveLength(1);
    server.disconnect("refresh_requested");
    await waitFor("the rotated link", () => server.ticketsUsed.length === 2 && server.openLinks === 1);
    expect(sinceConnected(h)).toEqual([]);
    expect(h.supervisor.status).toMatchObject({ state: "connected", attempts: 0, reconnects: 0 });
    expect(h.logs.some((l) => l.event === "slack.rotate" && /refresh_requested/.test(l.msg))).toBe(true);
    // Messages flow on the new link.
    server.pushMessage({ channel: "D0B", user: "U0B", text: "after the refresh" });
    await waitFor("the echo", () => server.posted.some((p) => p.text === "echo: after the refresh"));
  });

  it("a disconnect right after hello is left to the supervisor's backoff, not rotated in a tight loop", async () => {
    await start();
    const h = run(scaledFactory({ minConnectionMs: 60_000 }));
    await connected(h);
    server.disconnect("refresh_requested");
    await waitFor("backoff", () => h.states.includes("backoff"));
    expect(h.reasons[h.states.indexOf("backoff")]).toMatch(/^Slack asked to reconnect \(refresh_requested\)/);
    await waitFor("connected again", () => h.supervisor.status.reconnects === 1);
  });

  it("link_disabled is `failed` with the reason, and not retried", async () => {
    await start();
    const h = run();
    await connected(h);
    server.disconnect("link_disabled");
    await waitFor("failed", () => h.supervisor.status.state === "failed");
    expect(h.supervisor.status.reason).toMatch(/link_disabled.*turn Socket Mode on/);
    const opens = server.count("apps.connections.open");
    await sleep(500);
    expect(server.count("apps.connections.open")).toBe(opens);
  });

  it.each([
    [1000, "normal"],
    [1001, "going away"],
    [1011, "server error"],
    [4000, "custom"],
  ])(
    "a close with code %i goes to backoff with the code in the reason, then reconnects",
    async (code, reason) => {
      await start();
      const h = run();
      await connected(h);
      server.closeLinks(code, reason);
      await waitFor("a reconnect", () => h.supervisor.status.reconnects === 1);
      const i = h.states.indexOf("backoff");
      expect(h.reasons[i]).toBe(`Slack closed the Socket Mode connection (code ${code} ${reason})`);
    },
  );

  it("a zombie link (pongs stop, TCP open, frames still possible) is dropped by the pong deadline", async () => {
    await start();
    // The manifest's real liveness limit (35 s): only the adapter's own pong deadline can catch it in time.
    const h = supervise(slack, scaledFactory(), slackDriver(server));
    await connected(h);
    server.answerPings = false;
    await waitFor("backoff", () => h.states.includes("backoff"), 2000);
    expect(h.reasons[h.states.indexOf("backoff")]).toMatch(/^zombie connection: no pong within 0\.5 s/);
    server.answerPings = true;
    await waitFor("connected again", () => h.supervisor.status.reconnects === 1);
    expect(new Set(server.ticketsUsed).size).toBe(2);
  });

  it("no hello within its deadline is a failed attempt, retried", async () => {
    await start();
    server.skipHello = 1;
    const h = run(scaledFactory({ helloTimeoutMs: 300 }));
    await waitFor("connected after a missing hello", () => h.supervisor.status.state === "connected", 5000);
    expect(h.states.slice(0, 3)).toEqual(["connecting", "backoff", "connecting"]);
    expect(h.reasons[1]).toMatch(/^no hello from Slack within 0\.3 s/);
  });

  it("refused connections and an unresolvable host are backoff with the reason, never failed", async () => {
    await start();
    await server.refuse();
    const refused = supervise(manifest, scaledFactory(), slackDriver(server));
    await waitFor("backoff", () => refused.supervisor.status.attempts >= 2);
    expect(refused.supervisor.status.reason).toMatch(/^cannot reach 127\.0\.0\.1:\d+: ECONNREFUSED/);
    const unresolvable = supervise(manifest, scaledFactory(), {
      block: { api_base: UNRESOLVABLE_API_BASE },
      credentials: { bot_token: BOT_TOKEN, app_token: APP_TOKEN },
    });
    await waitFor("backoff", () => unresolvable.supervisor.status.attempts >= 2);
    expect(unresolvable.supervisor.status.reason).toMatch(
      /^cannot reach slack\.invalid: (ENOTFOUND|EAI_AGAIN)/,
    );
    for (const h of [refused, unresolvable]) expect(h.states).not.toContain("failed");
    await server.resume();
    await connected(refused);
  });

  it("429 while connecting waits exactly Retry-After; a body that is not JSON is retried with backoff", async () => {
    await start();
    server.rateLimit = { count: 1, retryAfter: 1 };
    const h = run();
    await waitFor("backoff", () => h.supervisor.status.state === "backoff");
    const limited = h.supervisor.status;
    expect(limited.reason).toBe("auth.test: rate limited (429), retry after 1 s");
    expect((limited.nextRetryAt ?? 0) - limited.since).toBe(1000);
    await connected(h);
    server.malformedCalls = 1;
    server.dropConnections();
    await waitFor("connected again", () => h.supervisor.status.reconnects === 1);
    expect(h.reasons).toContain(`auth.test: 127.0.0.1:${server.port} answered a body that is not JSON`);
  });

  it("an app token refused by apps.connections.open is failed, naming the app-level token", async () => {
    await start();
    const h = supervise(manifest, scaledFactory(), {
      block: { api_base: server.url },
      // Swapped: the bot token is checked with auth.test and passes; the app token slot holds a bot token.
      credentials: { bot_token: BOT_TOKEN, app_token: BOT_TOKEN },
    });
    await waitFor("failed", () => h.supervisor.status.state === "failed");
    expect(h.supervisor.status.reason).toBe(
      "Slack rejected the app-level token (SLACK_APP_TOKEN or platforms.slack.app_token): not_allowed_token_type on apps.connections.open; app_token must be an app-level token (xapp-…), bot_token the bot token (xoxb-…)",
    );
  });

  it("a burst of 1,000 events: every one reaches the agent once, is acked, and is answered", async () => {
    await start();
    const h = run();
    await connected(h);
    server.burst(1000, { user: "U0BURST", channels: 20 });
    await waitFor("1,000 replies", () => server.posted.length >= 1000, 30_000);
    expect(h.received).toHaveLength(1000);
    expect(new Set(h.received.map((m) => m.messageId)).size).toBe(1000);
    await waitFor("1,000 acks", () => server.acks.length === 1000, 5000);
    expect(server.unacked).toBe(0);
  });
});

describe("Slack messages", () => {
  it("replies in the thread a message came from, and splits long replies at the 4,000 limit", async () => {
    await start();
    const h = run();
    await connected(h);
    const parent = "1700000000.000100";
    server.pushMessage({
      channel: "C0CHAN",
      user: "U0A",
      text: "in a thread",
      channelType: "channel",
      threadTs: parent,
    });
    await waitFor("the reply", () => server.posted.length === 1);
    expect(server.posted[0]).toMatchObject({
      channel: "C0CHAN",
      text: "echo: in a thread",
      thread_ts: parent,
    });

    const adapter = h.supervisor.adapter;
    if (!adapter) throw new Error("not connected");
    await adapter.send({
      id: "long-1",
      platform: "slack",
      chatId: "D0A",
      text: "word ".repeat(1900),
      inReplyTo: null,
    });
    const long = server.posted.slice(1);
    expect(long).toHaveLength(3);
    expect(long.every((p) => p.text.length <= 4000 && p.thread_ts === undefined)).toBe(true);
    expect(long.map((p) => p.text.trim()).join(" ")).toBe("word ".repeat(1900).trim());
  });

  it("classifies chat.postMessage failures: 429 with Retry-After, invalid_auth, channel_not_found, HTTP 500", async () => {
    await start();
    const h = run();
    await connected(h);
    const adapter = h.supervisor.adapter;
    if (!adapter) throw new Error("not connected");
    const send = (chatId = "D0A") =>
      adapter.send({ id: `m-${Math.random()}`, platform: "slack", chatId, text: "x", inReplyTo: null }).then(
        () => undefined,
        (e: unknown) => e as PlatformError,
      );
    server.rateLimit = { count: 1, retryAfter: 3 };
    expect(await send()).toMatchObject({ kind: "rate_limit", retryAfterMs: 3000 });
    server.postFailures = 1;
    expect(await send()).toMatchObject({ kind: "transient", message: expect.stringMatching(/HTTP 500/) });
    expect(await send("")).toMatchObject({
      kind: "protocol",
      message: "chat.postMessage failed: channel_not_found",
    });
    server.rejectToken = true;
    const refused = await send();
    expect(refused).toBeInstanceOf(PlatformError);
    expect(refused).toMatchObject({ kind: "auth" });
    expect(refused?.message).toMatch(
      /^Slack rejected the bot token \(SLACK_BOT_TOKEN.*\): invalid_auth on chat\.postMessage$/,
    );
    expect(server.posted).toEqual([]);
  });

  it("group messages carry mentions: <@bot> in a channel message, and every app_mention", async () => {
    await start();
    const seen: InboundMessage[] = [];
    const c = context(async (m) => {
      seen.push(m);
      return { status: "accepted", id: m.messageId };
    });
    const running = createSlackAdapter(c.ctx, SCALED)
      .run()
      .catch(() => {});
    await waitFor("connected", () => c.state.connected === 1);
    server.pushMessage({ channel: "C0X", user: "U0A", text: "no mention here", channelType: "channel" });
    const { ts } = server.pushMessage({
      channel: "C0X",
      user: "U0A",
      text: `<@${BOT_USER.id}> hi`,
      channelType: "channel",
    });
    server.pushMessage({
      channel: "C0X",
      user: "U0A",
      text: `<@${BOT_USER.id}> hi`,
      eventType: "app_mention",
      ts,
    });
    server.pushMessage({ channel: "C0X", user: BOT_USER.id, text: "my own words", channelType: "channel" });
    await waitFor("three messages", () => seen.length === 3 && server.acks.length === 4);
    expect(seen.map((m) => [m.messageId, m.group, m.mentioned])).toEqual([
      [expect.stringMatching(/^C0X:/), true, false],
      [`C0X:${ts}`, true, true],
      // The app_mention for the same message has the same id: the gateway counts it once.
      [`C0X:${ts}`, true, true],
    ]);
    c.abort();
    await running;
  });
});

describe("lint config --online for Slack", () => {
  const check = (credentials: Record<string, string>, api_base: string) =>
    checkSlackTokens({ credentials, block: { api_base }, timeoutMs: 2000 });

  it("valid tokens: the bot and its workspace", async () => {
    await start();
    expect(await check({ bot_token: BOT_TOKEN, app_token: APP_TOKEN }, server.url)).toEqual({
      status: "valid",
      identity: `@${BOT_USER.name} in ${TEAM.name}`,
    });
    expect(server.calls).toEqual(["auth.test", "apps.connections.open"]);
    // The URL it was handed is never opened.
    expect(server.ticketsUsed).toEqual([]);
  });

  it("a revoked token is rejected, naming which; a closed port is unreachable", async () => {
    await start();
    server.rejectToken = true;
    const rejected = await check({ bot_token: BOT_TOKEN, app_token: APP_TOKEN }, server.url);
    expect(rejected).toEqual({
      status: "rejected",
      message: expect.stringMatching(/^Slack rejected the bot token .*invalid_auth on auth\.test$/),
    });
    server.rejectToken = false;
    const wrongApp = await check({ bot_token: BOT_TOKEN, app_token: `${APP_TOKEN}x` }, server.url);
    expect(wrongApp).toMatchObject({ status: "rejected", message: expect.stringMatching(/app-level token/) });
    await server.refuse();
    const unreachable = await check({ bot_token: BOT_TOKEN, app_token: APP_TOKEN }, server.url);
    // ECONNREFUSED, or the pooled connection found closed (UND_ERR_SOCKET) on Node.
    expect(unreachable).toMatchObject({
      status: "unreachable",
      message: expect.stringMatching(/^cannot reach 127\.0\.0\.1:\d+: /),
    });
    for (const v of [rejected, wrongApp, unreachable])
      expect(JSON.stringify(v)).not.toMatch(/conformance(Bot|App)TokenValue/);
  });
});

function context(receive: (m: InboundMessage) => Promise<ReceiveResult>) {
  const controller = new AbortController();
  const state = { connected: 0, progress: 0 };
  // Cast rather than annotated: the contract is growing (AdapterContext.count on the Telegram branch), and this
  // object must satisfy it before and after.
  const ctx = {
    manifest,
    block: { require_mention: false, api_base: server.url } as unknown as AdapterContext["block"],
    credentials: { bot_token: BOT_TOKEN, app_token: APP_TOKEN },
    signal: controller.signal,
    log: silentLogger,
    progress: () => {
      state.progress++;
    },
    connected: () => {
      state.connected++;
    },
    count: () => {},
    receive,
  } as AdapterContext;
  return { ctx, state, abort: () => controller.abort(new PlatformError("transient", "stopped")) };
}
