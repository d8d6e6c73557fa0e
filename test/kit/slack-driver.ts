/** The conformance driver for Slack: the suite's switches mapped onto the Slack test server. */
import type { AdapterContext } from "../../src/platforms/adapter.ts";
import { createSlackAdapter, type SlackAdapterOptions } from "../../src/platforms/slack/adapter.ts";
import type { PlatformServerDriver } from "./conformance.ts";
import type { SlackTestServer } from "./slack-server.ts";

export const BOT_TOKEN = "xoxb-1000000001-2000000002-conformanceBotTokenValue";
export const APP_TOKEN = "xapp-1-A0HERMESAPP-3000000003-conformanceAppTokenValue";
export const TOKENS = { botToken: BOT_TOKEN, appToken: APP_TOKEN };

/**
 * Socket Mode liveness scaled down: a ping every 100 ms, a pong 500 ms late is a zombie (caught within 600 ms).
 * The pong deadline has room so that a busy shared CPU does not pass for a zombie.
 */
export const SCALED: Required<Omit<SlackAdapterOptions, "fetch">> = {
  pingIntervalMs: 100,
  pongTimeoutMs: 500,
  helloTimeoutMs: 1000,
  minConnectionMs: 0,
};

export const scaledFactory =
  (extra: SlackAdapterOptions = {}) =>
  (ctx: AdapterContext) =>
    createSlackAdapter(ctx, { ...SCALED, ...extra });

export function slackDriver(server: SlackTestServer): PlatformServerDriver {
  return {
    block: { api_base: server.url },
    credentials: { bot_token: BOT_TOKEN, app_token: APP_TOKEN },
    revokeToken: () => {
      // Slack refuses the token from now on and ends the links it opened.
      server.rejectToken = true;
      server.closeLinks(1008, "token revoked");
    },
    dropConnections: () => server.dropConnections(),
    silence: () => {
      server.stall = true;
    },
    userSays: (text: string) => void server.pushMessage({ channel: "D0USER555", user: "U0USER555", text }),
    sent: () => server.posted.map((p) => ({ chatId: p.channel, text: p.text })),
    feedMalformed: () => {
      server.pushRaw("this is not JSON");
      server.pushRaw("[1,2,3]");
      server.pushRaw("null");
      server.pushRaw(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
      server.pushRaw(JSON.stringify({ type: "something_new" }));
      server.pushRaw(JSON.stringify({ type: "hello" }));
      server.pushEnvelope({ type: "events_api", payload: null });
      server.pushEnvelope({
        type: "events_api",
        payload: { type: "event_callback", event: "not an object" },
      });
      server.pushEnvelope({
        type: "events_api",
        payload: {
          type: "event_callback",
          event: { type: "message", channel: 5, user: null, text: 7, ts: "x" },
        },
      });
      server.pushEnvelope({
        type: "events_api",
        payload: { type: "event_callback", event: { type: "message" } },
      });
      server.pushEnvelope({ type: "slash_commands", payload: { command: "/hermes" } });
      server.pushEnvelope({ type: "interactive", payload: { type: "block_actions" } });
      server.pushMessage({
        channel: "D0USER555",
        user: "U0USER555",
        text: "edited",
        subtype: "message_changed",
      });
      server.pushMessage({ channel: "D0USER555", user: "U0OTHERBOT", text: "from a bot", botId: "B0OTHER" });
      // The next Web API call answers a body that is not JSON.
      server.malformedCalls = 1;
    },
    close: () => server.close(),
  };
}
