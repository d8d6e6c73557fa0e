/** The conformance driver for Telegram: the suite's switches mapped onto the Bot API test server. */
import type { PlatformServerDriver } from "./conformance.ts";
import type { TelegramTestServer } from "./telegram-server.ts";

export const TOKEN = "7000001:AAHconformanceTokenValue_abcdefghijklmn";
/** Polls of 1 s (the Bot API's smallest long poll) and a 300 ms grace: a stall is caught at 1.3 s. */
export const POLL_TIMEOUT_MS = 1000;
export const GRACE_MS = 300;

export function telegramDriver(server: TelegramTestServer): PlatformServerDriver {
  return {
    block: { api_base: server.url, poll_timeout: POLL_TIMEOUT_MS },
    credentials: { token: TOKEN },
    revokeToken: () => {
      server.rejectToken = true;
    },
    dropConnections: () => server.dropConnections(),
    silence: () => {
      server.stall = true;
    },
    userSays: (text: string) => void server.pushMessage({ chatId: 555, userId: 555, text }),
    sent: () => server.sent.map((s) => ({ chatId: s.chat_id, text: s.text })),
    feedMalformed: () => {
      server.pushRaw({ update_id: "not a number", message: { text: "x" } });
      server.pushRaw(null);
      server.pushUpdate({ message: "not an object" });
      server.pushUpdate({ message: { message_id: 1, chat: null, text: 5 } });
      server.pushUpdate({ message: { message_id: "x", chat: { id: 1 }, text: "id is no number" } });
      server.pushUpdate({
        edited_message: { message_id: 2, chat: { id: 1 }, text: "an update type we skip" },
      });
      server.pushUpdate({ message: { message_id: 3, chat: { id: 1, type: "private" } } });
      // The next poll answers a body that is not JSON.
      server.malformedPolls = 1;
    },
    close: () => server.close(),
  };
}
