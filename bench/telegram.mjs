#!/usr/bin/env node
// Telegram benchmark (part of npm run bench): a burst of updates from the Bot API test server through the
// compiled gateway, the echo agent and sendMessage back, in messages per second and CPU µs per message, against
// the webhook platform's path (signed POST in → echo → POST out) measured in the same run with the same count;
// and how long a stalled poll takes to be detected. Runs itself under Bun, which loads the test server's source.
import { CHATS, CONCURRENCY, platformBench, printBurstRows, underBun, until } from "./lib/platform-burst.mjs";

await underBun(import.meta.filename, main);

async function main() {
  const { TelegramTestServer } = await import("../test/kit/telegram-server.ts");
  const MESSAGES = Number(process.env.BENCH_TG_MESSAGES ?? 20_000);
  const TOKEN = "7312846519:AAHbenchTokenValue_0123456789abcdefgh";
  const bench = platformBench("tg");

  // ----- Telegram: burst → getUpdates → journal → echo → sendMessage -----
  const server = await TelegramTestServer.start(TOKEN);
  const tg = await bench.gateway(
    `  telegram:\n    allow_all: true\n    api_base: ${server.url}\n    poll_timeout: 1s\n`,
    `TELEGRAM_BOT_TOKEN=${TOKEN}\n`,
  );
  await until("telegram connected", async () => (await tg.state("telegram")) === "connected");
  server.burst(1000, { chatId: 1_000_000, userId: 42, chats: CHATS });
  await until("the warm-up replies", () => server.sent.length >= 1000);
  server.sent.length = 0;
  const telegram = await bench.burst(
    tg,
    MESSAGES,
    () => server.burst(MESSAGES, { chatId: 2_000_000, userId: 42, chats: CHATS }),
    () => server.sent.length >= MESSAGES,
  );

  // ----- a stalled poll: from the stall until the platform leaves `connected` -----
  await until("a poll held", () => server.pendingPolls >= 1);
  server.stall = true;
  const stalledAt = performance.now();
  await until("the stall to be detected", async () => (await tg.state("telegram")) !== "connected", 60_000);
  const detectedS = (performance.now() - stalledAt) / 1000;
  tg.child.kill("SIGTERM");
  await server.close();

  // ----- the webhook platform's path, the same count, in the same run -----
  const webhook = await bench.webhookPath(MESSAGES);
  await bench.cleanup();

  printBurstRows({
    heading: `telegram: a burst of ${MESSAGES} updates over ${CHATS} chats from the Bot API test server; baseline: the webhook platform, ${MESSAGES} messages at concurrency ${CONCURRENCY}, same run`,
    burstLabel: "burst → echo → sendMessage",
    platform: telegram,
    webhook,
  });
  console.log(
    `stalled poll detected after ${detectedS.toFixed(1)} s (poll_timeout 1 s + 10 s grace: at most 11 s after the poll was sent)`,
  );
}
