#!/usr/bin/env node
// Slack benchmark (part of npm run bench): a burst of events_api envelopes from the Slack test server over
// Socket Mode through the compiled gateway, the echo agent and chat.postMessage back, in messages per second and
// CPU µs per message, against the webhook platform's path (signed POST in → echo → POST out) measured in the
// same run with the same count (bench/gateway.mjs's method); and how long a zombie link (pongs stop, TCP open)
// takes to be detected, as a multiple of the ping interval. Runs itself under Bun, which loads the test server's
// source.
import { CHATS, CONCURRENCY, platformBench, printBurstRows, underBun, until } from "./lib/platform-burst.mjs";

await underBun(import.meta.filename, main);

async function main() {
  const { SlackTestServer } = await import("../test/kit/slack-server.ts");
  const MESSAGES = Number(process.env.BENCH_SLACK_MESSAGES ?? 20_000);
  // The adapter's defaults (src/platforms/slack/adapter.ts) and the manifest's liveness limit.
  const PING_INTERVAL_S = 5;
  const PONG_TIMEOUT_S = 5;
  const LIVENESS_S = 35;
  const BOT_TOKEN = "xoxb-7312846519-9182736455-benchBotTokenValue";
  const APP_TOKEN = "xapp-1-A0HERMESAPP-5647382910-benchAppTokenValue";
  const bench = platformBench("slack");

  // ----- Slack: burst → Socket Mode → journal → ack → echo → chat.postMessage -----
  const server = await SlackTestServer.start({ botToken: BOT_TOKEN, appToken: APP_TOKEN });
  const sl = await bench.gateway(
    `  slack:\n    allow_all: true\n    api_base: ${server.url}\n`,
    `SLACK_BOT_TOKEN=${BOT_TOKEN}\nSLACK_APP_TOKEN=${APP_TOKEN}\n`,
  );
  await until("slack connected", async () => (await sl.state("slack")) === "connected");
  server.burst(1000, { user: "U0BENCH", channels: CHATS, channelPrefix: "D0WARM" });
  await until("the warm-up replies", () => server.posted.length >= 1000);
  server.posted.length = 0;
  server.sentFrames.length = 0;
  const slack = await bench.burst(
    sl,
    MESSAGES,
    () => server.burst(MESSAGES, { user: "U0BENCH", channels: CHATS }),
    () => server.posted.length >= MESSAGES,
  );
  await until("every ack", () => server.unacked === 0, 30_000);

  // ----- a zombie link: from the moment pongs stop until the platform leaves `connected` -----
  const opensBefore = server.count("apps.connections.open");
  server.breakLinks({ pongs: true });
  const zombieAt = performance.now();
  await until(
    "the zombie to be detected",
    async () =>
      (await sl.state("slack")) !== "connected" || server.count("apps.connections.open") > opensBefore,
    LIVENESS_S * 2000,
  );
  const detectedS = (performance.now() - zombieAt) / 1000;
  await until("slack connected again", async () => (await sl.state("slack")) === "connected");
  sl.child.kill("SIGTERM");
  await server.close();

  // ----- the webhook platform's path, the same count, in the same run -----
  const webhook = await bench.webhookPath(MESSAGES);
  await bench.cleanup();

  printBurstRows({
    heading: `slack: a burst of ${MESSAGES} events over ${CHATS} channels from the Slack test server (Socket Mode); baseline: the webhook platform, ${MESSAGES} messages at concurrency ${CONCURRENCY}, same run`,
    burstLabel: "burst → echo → chat.postMessage",
    platform: slack,
    webhook,
  });
  const verdict = detectedS <= LIVENESS_S ? "within" : "OVER";
  console.log(
    `zombie link (pongs stop, TCP open) detected after ${detectedS.toFixed(1)} s = ×${(detectedS / PING_INTERVAL_S).toFixed(2)} the ${PING_INTERVAL_S} s ping interval (at most ×${(PING_INTERVAL_S + PONG_TIMEOUT_S) / PING_INTERVAL_S}: a ping, then a ${PONG_TIMEOUT_S} s pong deadline; ${verdict} the ${LIVENESS_S} s liveness limit)`,
  );
}
