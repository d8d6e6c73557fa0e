#!/usr/bin/env node
// Slack benchmark (part of npm run bench): a burst of events_api envelopes from the Slack test server over
// Socket Mode through the compiled gateway, the echo agent and chat.postMessage back, in messages per second and
// CPU µs per message, against the webhook platform's path (signed POST in → echo → POST out) measured in the
// same run with the same count (bench/gateway.mjs's method); and how long a zombie link (pongs stop, TCP open)
// takes to be detected, as a multiple of the ping interval. Runs itself under Bun, which loads the test server's
// source.
import { spawn, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const bun = join(root, "node_modules", ".bin", "bun");
if (!globalThis.Bun) {
  const run = spawnSync(bun, [import.meta.filename], { stdio: "inherit" });
  process.exitCode = run.status ?? 1;
} else await main();

async function main() {
  const { SlackTestServer } = await import("../test/kit/slack-server.ts");
  const hermes = join(root, "dist", "hermes");
  const MESSAGES = Number(process.env.BENCH_SLACK_MESSAGES ?? 20_000);
  const CHATS = 256;
  const CONCURRENCY = 64;
  // The adapter's defaults (src/platforms/slack/adapter.ts) and the manifest's liveness limit.
  const PING_INTERVAL_S = 5;
  const PONG_TIMEOUT_S = 5;
  const LIVENESS_S = 35;
  const BOT_TOKEN = "xoxb-7312846519-9182736455-benchBotTokenValue";
  const APP_TOKEN = "xapp-1-A0HERMESAPP-5647382910-benchAppTokenValue";
  const SECRET = "3f9a1c7e5b2d8f4a6c0e9b7d5f3a1c8e";
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const ticks = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);
  const cpuMicros = (pid) => {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1e6) / ticks;
  };
  const freePort = () =>
    new Promise((resolve) => {
      const s = createServer();
      s.listen(0, "127.0.0.1", () => {
        const { port } = s.address();
        s.close(() => resolve(port));
      });
    });
  async function until(what, check, ms = 60_000) {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(2);
    }
  }
  const homes = [];
  async function gateway(platformYaml, envFile) {
    const port = await freePort();
    const home = mkdtempSync(join(tmpdir(), "hermes-bench-slack-"));
    homes.push(home);
    writeFileSync(
      join(home, "config.yaml"),
      `gateway:\n  http: { listen: "127.0.0.1:${port}" }\nplatforms:\n${platformYaml}`,
    );
    writeFileSync(join(home, ".env"), envFile, { mode: 0o600 });
    const child = spawn(hermes, ["gateway", "run", "--home", home, "--log-level", "warn"], {
      env,
      stdio: "ignore",
    });
    const state = async (name) => {
      try {
        const s = await (await fetch(`http://127.0.0.1:${port}/status`)).json();
        return s.platforms?.[name]?.state;
      } catch {
        return undefined;
      }
    };
    return { child, port, state };
  }

  // ----- Slack: burst → Socket Mode → journal → ack → echo → chat.postMessage -----
  const server = await SlackTestServer.start({ botToken: BOT_TOKEN, appToken: APP_TOKEN });
  const sl = await gateway(
    `  slack:\n    allow_all: true\n    api_base: ${server.url}\n`,
    `SLACK_BOT_TOKEN=${BOT_TOKEN}\nSLACK_APP_TOKEN=${APP_TOKEN}\n`,
  );
  await until("slack connected", async () => (await sl.state("slack")) === "connected");
  server.burst(1000, { user: "U0BENCH", channels: CHATS, channelPrefix: "D0WARM" });
  await until("the warm-up replies", () => server.posted.length >= 1000);
  server.posted.length = 0;
  server.sentFrames.length = 0;
  const slCpu = cpuMicros(sl.child.pid);
  const slStart = performance.now();
  server.burst(MESSAGES, { user: "U0BENCH", channels: CHATS });
  await until("every reply", () => server.posted.length >= MESSAGES, 300_000);
  const slSeconds = (performance.now() - slStart) / 1000;
  const slack = { perSecond: MESSAGES / slSeconds, cpu: (cpuMicros(sl.child.pid) - slCpu) / MESSAGES };
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
  let replies = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      replies++;
      res.end("ok");
    });
  });
  const receiverPort = await new Promise((resolve) =>
    receiver.listen(0, "127.0.0.1", () => resolve(receiver.address().port)),
  );
  const wh = await gateway(
    `  webhook:\n    allow_all: true\n    reply_url: http://127.0.0.1:${receiverPort}/reply\n`,
    `WEBHOOK_SECRET=${SECRET}\n`,
  );
  await until("webhook connected", async () => (await wh.state("webhook")) === "connected");
  const stamp = Date.now();
  const messages = Array.from({ length: MESSAGES }, (_, i) => {
    const body = JSON.stringify({
      chat_id: `c${i % CHATS}`,
      user_id: "u1",
      text: `message ${i}`,
      message_id: `${stamp}-${i}`,
    });
    return { body, signature: `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}` };
  });
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const post = ({ body, signature }) =>
    new Promise((resolve) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: wh.port,
          path: "/webhooks/webhook",
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "x-hermes-signature": signature },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode));
        },
      );
      req.on("error", () => resolve(0));
      req.end(body);
    });
  const whCpu = cpuMicros(wh.child.pid);
  const whStart = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < messages.length) await post(messages[next++]);
    }),
  );
  await until("every webhook reply", () => replies >= MESSAGES, 300_000);
  const whSeconds = (performance.now() - whStart) / 1000;
  const webhook = { perSecond: MESSAGES / whSeconds, cpu: (cpuMicros(wh.child.pid) - whCpu) / MESSAGES };
  wh.child.kill("SIGTERM");
  agent.destroy();
  receiver.close();
  await sleep(200);
  for (const home of homes) rmSync(home, { recursive: true, force: true });

  const row = (name, value, base, unit, target) =>
    `${name.padEnd(44)} ${value.toFixed(1).padStart(9)} ${unit.padEnd(6)} webhook path ${base.toFixed(1).padStart(9)}  ×${(value / base).toFixed(2)}${target ? `  (target ${target})` : ""}`;
  console.log(
    `slack: a burst of ${MESSAGES} events over ${CHATS} channels from the Slack test server (Socket Mode); baseline: the webhook platform, ${MESSAGES} messages at concurrency ${CONCURRENCY}, same run`,
  );
  console.log(
    row("burst → echo → chat.postMessage", slack.perSecond, webhook.perSecond, "msg/s", "≥ 2000 msg/s"),
  );
  console.log(row("CPU per message", slack.cpu, webhook.cpu, "µs"));
  const verdict = detectedS <= LIVENESS_S ? "within" : "OVER";
  console.log(
    `zombie link (pongs stop, TCP open) detected after ${detectedS.toFixed(1)} s = ×${(detectedS / PING_INTERVAL_S).toFixed(2)} the ${PING_INTERVAL_S} s ping interval (at most ×${(PING_INTERVAL_S + PONG_TIMEOUT_S) / PING_INTERVAL_S}: a ping, then a ${PONG_TIMEOUT_S} s pong deadline; ${verdict} the ${LIVENESS_S} s liveness limit)`,
  );
}
