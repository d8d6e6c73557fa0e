// The burst harness shared by the platform benchmarks (bench/{telegram,discord,slack}.mjs): start the compiled
// gateway on a fresh home, time a burst and the CPU it costs, measure the webhook platform's path with the same
// count in the same run (bench/gateway.mjs's method), and print the rows. Each platform brings its test server,
// its burst and its liveness check.
import { spawn, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");
export const CHATS = 256;
export const CONCURRENCY = 64;
const hermes = join(root, "dist", "hermes");
/** The webhook platform's secret in every bench home. */
export const WEBHOOK_SECRET = "3f9a1c7e5b2d8f4a6c0e9b7d5f3a1c8e";

/** The environment the gateway runs in: without NODE_EXTRA_CA_CERTS, which makes every start parse the bundle. */
export const benchEnv = { ...process.env };
delete benchEnv.NODE_EXTRA_CA_CERTS;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs `main` under Bun, re-executing `file` with it when needed: Bun loads the test servers' TypeScript. */
export async function underBun(file, main) {
  if (globalThis.Bun) return main();
  const run = spawnSync(join(root, "node_modules", ".bin", "bun"), [file], { stdio: "inherit" });
  process.exitCode = run.status ?? 1;
}

let clockTicks;
/** User plus system CPU time of a process so far, in µs. */
export function cpuMicros(pid) {
  clockTicks ??= Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1e6) / clockTicks;
}

export function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Polls `check` every 2 ms until it holds; throws after `ms`. */
export async function until(what, check, ms = 60_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/** `count` webhook messages over `chats` chats, signed before any clock starts: the client's HMAC is not the gateway's cost. */
export function signedMessages(count, chats = CHATS) {
  const stamp = Date.now();
  return Array.from({ length: count }, (_, i) => {
    const body = JSON.stringify({
      chat_id: `c${i % chats}`,
      user_id: "u1",
      text: `message ${i}`,
      message_id: `${stamp}-${i}`,
    });
    return { body, signature: `sha256=${createHmac("sha256", WEBHOOK_SECRET).update(body).digest("hex")}` };
  });
}

/** POSTs one signed message to the webhook platform; resolves with the status, 0 on a connection error. */
export function postWebhook(port, agent, { body, signature }) {
  return new Promise((resolve) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
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
}

/** A loopback server for the webhook platform's replies, counting them in `count`. */
export async function replyReceiver() {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      receiver.count++;
      res.end("ok");
    });
  });
  const port = await new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve(server.address().port)),
  );
  const receiver = { port, count: 0, close: () => server.close() };
  return receiver;
}

/** A harness whose gateways get homes named `hermes-bench-<name>-…`, all removed by `cleanup()`. */
export function platformBench(name) {
  const homes = [];

  /** Starts the compiled gateway with the `platforms:` entries in `platformYaml` and the given `.env`. */
  async function gateway(platformYaml, envFile) {
    const port = await freePort();
    const home = mkdtempSync(join(tmpdir(), `hermes-bench-${name}-`));
    homes.push(home);
    writeFileSync(
      join(home, "config.yaml"),
      `gateway:\n  http: { listen: "127.0.0.1:${port}" }\nplatforms:\n${platformYaml}`,
    );
    writeFileSync(join(home, ".env"), envFile, { mode: 0o600 });
    const child = spawn(hermes, ["gateway", "run", "--home", home, "--log-level", "warn"], {
      env: benchEnv,
      stdio: "ignore",
    });
    const state = async (platform) => {
      try {
        const s = await (await fetch(`http://127.0.0.1:${port}/status`)).json();
        return s.platforms?.[platform]?.state;
      } catch {
        return undefined;
      }
    };
    return { child, port, state };
  }

  /** Messages per second and CPU µs per message of `count` messages: `send` starts them, `done` says all are answered. */
  async function burst(gw, count, send, done) {
    const cpuBefore = cpuMicros(gw.child.pid);
    const started = performance.now();
    send();
    await until("every reply", done, 300_000);
    const seconds = (performance.now() - started) / 1000;
    return { perSecond: count / seconds, cpu: (cpuMicros(gw.child.pid) - cpuBefore) / count };
  }

  /** The webhook platform's path (signed POST in → echo → POST out) with `count` messages, the same measures. */
  async function webhookPath(count) {
    const receiver = await replyReceiver();
    const wh = await gateway(
      `  webhook:\n    allow_all: true\n    reply_url: http://127.0.0.1:${receiver.port}/reply\n`,
      `WEBHOOK_SECRET=${WEBHOOK_SECRET}\n`,
    );
    await until("webhook connected", async () => (await wh.state("webhook")) === "connected");
    const messages = signedMessages(count);
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const cpuBefore = cpuMicros(wh.child.pid);
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < messages.length) await postWebhook(wh.port, agent, messages[next++]);
      }),
    );
    await until("every webhook reply", () => receiver.count >= count, 300_000);
    const seconds = (performance.now() - started) / 1000;
    const result = { perSecond: count / seconds, cpu: (cpuMicros(wh.child.pid) - cpuBefore) / count };
    wh.child.kill("SIGTERM");
    agent.destroy();
    receiver.close();
    return result;
  }

  async function cleanup() {
    // The gateways are given a moment to exit before their homes go.
    await sleep(200);
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  }

  return { gateway, burst, webhookPath, cleanup };
}

/** Prints the heading and the throughput and CPU rows of a platform's burst against the webhook path. */
export function printBurstRows({ heading, burstLabel, platform, webhook }) {
  const row = (name, value, base, unit, target) =>
    `${name.padEnd(44)} ${value.toFixed(1).padStart(9)} ${unit.padEnd(6)} webhook path ${base.toFixed(1).padStart(9)}  ×${(value / base).toFixed(2)}${target ? `  (target ${target})` : ""}`;
  console.log(heading);
  console.log(row(burstLabel, platform.perSecond, webhook.perSecond, "msg/s", "≥ 2000 msg/s"));
  console.log(row("CPU per message", platform.cpu, webhook.cpu, "µs"));
}
