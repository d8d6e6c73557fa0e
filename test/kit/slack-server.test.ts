/**
 * The test server is only worth what it is faithful to: Slack's own SDKs, @slack/socket-mode and @slack/web-api,
 * open a Socket Mode connection to it, get `hello`, receive an events_api envelope and ack it, reconnect with a
 * fresh URL when told to, post a message; and its error answers are what the SDKs expect from Slack.
 */
import { LogLevel, SocketModeClient } from "@slack/socket-mode";
import { ErrorCode, WebClient } from "@slack/web-api";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/wait.ts";
import { BOT_USER, SlackTestServer, TEAM } from "./slack-server.ts";

const BOT_TOKEN = "xoxb-1000000001-2000000002-faithfulBotTokenValue";
const APP_TOKEN = "xapp-1-A0HERMESAPP-3000000003-faithfulAppTokenValue";
let server: SlackTestServer;
let client: SocketModeClient | undefined;

afterEach(async () => {
  await client?.disconnect();
  client = undefined;
  await server?.close();
});

const quiet = { logLevel: LogLevel.ERROR };
const apiUrl = () => `${server.url}/`;

describe("the Slack test server, through @slack/socket-mode and @slack/web-api", () => {
  it("the SDK opens a connection, gets hello, receives a message envelope and acks it", async () => {
    server = await SlackTestServer.start({ botToken: BOT_TOKEN, appToken: APP_TOKEN });
    client = new SocketModeClient({
      appToken: APP_TOKEN,
      clientOptions: { slackApiUrl: apiUrl() },
      ...quiet,
    });
    const events: { text: string; channel: string; envelope: string }[] = [];
    client.on("message", async ({ event, envelope_id, ack }) => {
      await ack();
      events.push({ text: event.text, channel: event.channel, envelope: envelope_id });
    });
    // start() resolves on `hello` only.
    await client.start();
    expect(server.count("apps.connections.open")).toBe(1);
    expect(server.ticketsUsed).toEqual(server.ticketsIssued);

    const { envelopeId } = server.pushMessage({ channel: "D0USER1", user: "U0USER1", text: "hello sdk" });
    await waitFor("the SDK to ack", () => server.acks.includes(envelopeId), 10_000);
    expect(events).toEqual([{ text: "hello sdk", channel: "D0USER1", envelope: envelopeId }]);
    expect(server.unacked).toBe(0);
  });

  it("on a disconnect frame the SDK reconnects with a fresh URL, and gets what it never acked again", async () => {
    server = await SlackTestServer.start({ botToken: BOT_TOKEN, appToken: APP_TOKEN });
    // A short ping timeout: the SDK waits that long before it reconnects.
    client = new SocketModeClient({
      appToken: APP_TOKEN,
      clientOptions: { slackApiUrl: apiUrl() },
      clientPingTimeout: 500,
      ...quiet,
    });
    const retries: (number | undefined)[] = [];
    let ackNow = false;
    client.on("message", async ({ ack, retry_num }) => {
      retries.push(retry_num);
      if (ackNow) await ack();
    });
    await client.start();
    server.pushMessage({ channel: "D0USER1", user: "U0USER1", text: "not acked the first time" });
    await waitFor("the first delivery", () => retries.length === 1, 10_000);
    ackNow = true;
    server.disconnect("refresh_requested");
    await waitFor("the redelivery to be acked", () => server.acks.length === 1, 15_000);
    expect(retries).toEqual([undefined, 1]);
    expect(server.count("apps.connections.open")).toBe(2);
    expect(new Set(server.ticketsUsed).size).toBe(2);
  });

  it("a server that stops answering pings is dropped by the SDK's pong deadline", async () => {
    server = await SlackTestServer.start({ botToken: BOT_TOKEN, appToken: APP_TOKEN });
    client = new SocketModeClient({
      appToken: APP_TOKEN,
      clientOptions: { slackApiUrl: apiUrl() },
      clientPingTimeout: 300,
      ...quiet,
    });
    let hellos = 0;
    client.on("connected", () => hellos++);
    await client.start();
    await waitFor("client pings to be answered", () => server.pingsReceived >= 2, 5000);
    expect(server.count("apps.connections.open")).toBe(1);
    server.answerPings = false;
    await waitFor("the SDK to reconnect", () => server.count("apps.connections.open") >= 2, 10_000);
    expect(server.openLinks).toBeLessThanOrEqual(1);
    // Torn down only once connected again: an SDK stopped halfway through its reconnect rejects unhandled.
    server.answerPings = true;
    await waitFor("the SDK's second hello", () => hellos >= 2, 10_000);
  });

  it("the Web API client posts a message, and gets invalid_auth, not_allowed_token_type and 429 as Slack gives them", async () => {
    server = await SlackTestServer.start({ botToken: BOT_TOKEN, appToken: APP_TOKEN });
    const web = new WebClient(BOT_TOKEN, { slackApiUrl: apiUrl(), ...quiet, rejectRateLimitedCalls: true });
    const who = await web.auth.test();
    expect(who).toMatchObject({ ok: true, user_id: BOT_USER.id, team_id: TEAM.id });
    const posted = await web.chat.postMessage({ channel: "C0CHAN1", text: "from the sdk", thread_ts: "1.2" });
    expect(posted.ok).toBe(true);
    expect(server.posted).toEqual([
      { channel: "C0CHAN1", text: "from the sdk", thread_ts: "1.2", ts: posted.ts },
    ]);

    const wrong = new WebClient("xoxb-1-2-wrongwrongwrong", { slackApiUrl: apiUrl(), ...quiet });
    const refused = (await wrong.auth.test().catch((e: unknown) => e)) as {
      code: string;
      data: { error: string };
    };
    expect(refused.code).toBe(ErrorCode.PlatformError);
    expect(refused.data.error).toBe("invalid_auth");

    // The bot token cannot open Socket Mode connections.
    const opened = (await web.apps.connections.open().catch((e: unknown) => e)) as {
      data: { error: string };
    };
    expect(opened.data.error).toBe("not_allowed_token_type");

    server.rateLimit = { count: 1, retryAfter: 7 };
    const limited = (await web.chat
      .postMessage({ channel: "C0CHAN1", text: "x" })
      .catch((e: unknown) => e)) as {
      code: string;
      retryAfter: number;
    };
    expect(limited.code).toBe(ErrorCode.RateLimitedError);
    expect(limited.retryAfter).toBe(7);
    expect(server.posted).toHaveLength(1);
  });
});
