#!/usr/bin/env node
// Discord benchmark (part of npm run bench): a burst of MESSAGE_CREATE from the Discord test server through the
// compiled gateway, the echo agent and POST /channels/{id}/messages back, in messages per second and CPU µs per
// message, against the webhook platform's path (signed POST in → echo → POST out) measured in the same run with
// the same count; and how long a zombie connection (ACKs stop, TCP open) takes to be detected, as a multiple of
// the heartbeat interval. Runs itself under Bun, which loads the test server's source.
import {
  CHATS,
  CONCURRENCY,
  platformBench,
  printBurstRows,
  sleep,
  underBun,
  until,
} from "./lib/platform-burst.mjs";

await underBun(import.meta.filename, main);

async function main() {
  const { DiscordTestServer } = await import("../test/kit/discord-server.ts");
  const MESSAGES = Number(process.env.BENCH_DISCORD_MESSAGES ?? 20_000);
  const TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GbEnCh.benchTokenValue_0123456789abcdef";
  const HEARTBEAT_MS = Number(process.env.BENCH_DISCORD_HEARTBEAT_MS ?? 1000);
  const ZOMBIES = Number(process.env.BENCH_DISCORD_ZOMBIES ?? 5);
  const bench = platformBench("discord");

  // ----- Discord: burst → gateway → journal → echo → POST /channels/{id}/messages -----
  const server = await DiscordTestServer.start(TOKEN, { heartbeatIntervalMs: HEARTBEAT_MS });
  const dc = await bench.gateway(
    `  discord:\n    allow_all: true\n    api_base: ${server.url}\n`,
    `DISCORD_BOT_TOKEN=${TOKEN}\n`,
  );
  await until("discord connected", async () => (await dc.state("discord")) === "connected");
  server.burst(1000, { chats: CHATS });
  await until("the warm-up replies", () => server.sent.length >= 1000);
  server.sent.length = 0;
  const discord = await bench.burst(
    dc,
    MESSAGES,
    () => server.burst(MESSAGES, { chats: CHATS }),
    () => server.sent.length >= MESSAGES,
  );

  // ----- zombies: from the moment ACKs stop until the gateway closes the connection to resume -----
  const detections = [];
  for (let i = 0; i < ZOMBIES; i++) {
    const closes = server.clientCloses.length;
    const resumes = server.resumes.length;
    // A random phase of the heartbeat cycle, so the samples cover the best and the worst case.
    await sleep(Math.random() * HEARTBEAT_MS);
    server.zombify();
    const at = performance.now();
    await until("the zombie to be detected", () => server.clientCloses.length > closes, 60_000);
    detections.push((performance.now() - at) / HEARTBEAT_MS);
    await until("the resume", () => server.resumes.length > resumes, 60_000);
    await until("discord connected again", async () => (await dc.state("discord")) === "connected");
  }
  dc.child.kill("SIGTERM");
  await server.close();

  // ----- the webhook platform's path, the same count, in the same run -----
  const webhook = await bench.webhookPath(MESSAGES);
  await bench.cleanup();

  const sorted = [...detections].sort((a, b) => a - b);
  printBurstRows({
    heading: `discord: a burst of ${MESSAGES} MESSAGE_CREATE over ${CHATS} channels from the Discord test server; baseline: the webhook platform, ${MESSAGES} messages at concurrency ${CONCURRENCY}, same run`,
    burstLabel: "burst → echo → POST messages",
    platform: discord,
    webhook,
  });
  console.log(
    `zombie detected after ${sorted.map((x) => `${x.toFixed(2)}×`).join(", ")} the heartbeat interval (${ZOMBIES} zombies, interval ${HEARTBEAT_MS} ms; target ≤ 1.25×: interval + ACK deadline of interval/4${sorted.at(-1) <= 1.25 ? ", ok" : ", OVER"})`,
  );
}
