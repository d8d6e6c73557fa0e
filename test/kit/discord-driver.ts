/** The conformance driver for Discord: the suite's switches mapped onto the Discord test server. */
import type { PlatformServerDriver } from "./conformance.ts";
import type { DiscordTestServer } from "./discord-server.ts";

/** A token of Discord's shape (the first part encodes the bot's id); the test server's bot. */
export const TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GcOnFo.conformanceTokenValue_abcdefgh";
/** Hello's interval in the tests: a missed ACK is caught within 200 ms + 50 ms. */
export const HEARTBEAT_MS = 200;
export const CHANNEL = "900000000000000001";

export function discordDriver(server: DiscordTestServer): PlatformServerDriver {
  return {
    block: { api_base: server.url },
    credentials: { token: TOKEN },
    revokeToken: () => {
      // A reset token: the gateway drops the session's connection, and every later Resume or Identify is 4004.
      server.rejectToken = true;
      server.closeAll(4000);
    },
    dropConnections: () => server.dropConnections(),
    silence: () => {
      server.stall = true;
    },
    userSays: (text: string) => void server.userSays({ channelId: CHANNEL, text }),
    sent: () => server.sent.map((s) => ({ chatId: s.channel_id, text: s.content })),
    feedMalformed: () => server.feedMalformed(),
    close: () => server.close(),
  };
}
