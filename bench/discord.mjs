#!/usr/bin/env node
// Discord benchmark (part of npm run bench): a burst of MESSAGE_CREATE from the Discord test server through the
// compiled gateway, the echo agent and POST /channels/{id}/messages back, in messages per second and CPU µs per
// message, against the webhook platform's path (signed POST in → echo → POST out) measured in the same run with
// the same count; and how long a zombie connection (ACKs stop, TCP open) takes to be detected, as a multiple of
// the heartbeat interval. Runs itself under Bun, which loads the test server's source.
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
  const { DiscordTestServer } = await import("../test/kit/discord-server.ts");
  const hermes = join(root, "dist", "hermes");
  const MESSAGES = Number(process.env.BENCH_DISCORD_MESSAGES ?? 20_000);
  const CHATS = 256;
  const CONCURRENCY = 64;
  const TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GbEnCh.benchTokenValue_0123456789abcdef";
  const HEARTBEAT_MS = Number(process.env.BENCH_DISCORD_HEARTBEAT_MS ?? 1000);
  const ZOMBIES = Number(process.env.BENCH_DISCORD_ZOMBIES ?? 5);
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
    const home = mkdtempSync(join(tmpdir(), "hermes-bench-discord-"));
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

  // ----- Discord: burst → gateway → journal → echo → POST /channels/{id}/messages -----
  const server = await DiscordTestServer.start(TOKEN, { heartbeatIntervalMs: HEARTBEAT_MS });
  const dc = await gateway(
    `  discord:\n    allow_all: true\n    api_base: ${server.url}\n`,
    `DISCORD_BOT_TOKEN=${TOKEN}\n`,
  );
  await until("discord connected", async () => (await dc.state("discord")) === "connected");
  server.burst(1000, { chats: CHATS });
  await until("the warm-up replies", () => server.sent.length >= 1000);
  server.sent.length = 0;
  const dcCpu = cpuMicros(dc.child.pid);
  const dcStart = performance.now();
  server.burst(MESSAGES, { chats: CHATS });
  await until("every reply", () => server.sent.length >= MESSAGES, 300_000);
  const dcSeconds = (performance.now() - dcStart) / 1000;
  const discord = { perSecond: MESSAGES / dcSeconds, cpu: (cpuMicros(dc.child.pid) - dcCpu) / MESSAGES };

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
  const sorted = [...detections].sort((a, b) => a - b);
  console.log(
    `discord: a burst of ${MESSAGES} MESSAGE_CREATE over ${CHATS} channels from the Discord test server; baseline: the webhook platform, ${MESSAGES} messages at concurrency ${CONCURRENCY}, same run`,
  );
  console.log(
    row("burst → echo → POST messages", discord.perSecond, webhook.perSecond, "msg/s", "≥ 2000 msg/s"),
  );
  console.log(row("CPU per message", discord.cpu, webhook.cpu, "µs"));
  console.log(
    `zombie detected after ${sorted.map((x) => `${x.toFixed(2)}×`).join(", ")} the heartbeat interval (${ZOMBIES} zombies, interval ${HEARTBEAT_MS} ms; target ≤ 1.25×: interval + ACK deadline of interval/4${sorted.at(-1) <= 1.25 ? ", ok" : ", OVER"})`,
  );
}
