#!/usr/bin/env node
// Gateway benchmark (part of npm run bench): time from exec to /readyz 200, idle RSS after 10 s, and
// webhook in → echo agent → webhook out throughput with CPU µs per message, against a plain hono echo server
// on the same runtime (Bun, compiled the same way) measured in the same run.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  cpuMicros,
  benchEnv as env,
  freePort,
  postWebhook,
  replyReceiver,
  signedMessages,
  sleep,
  until,
  WEBHOOK_SECRET,
} from "./lib/platform-burst.mjs";

const root = join(import.meta.dirname, "..");
const out = join(root, ".bench");
const bun = join(root, "node_modules", ".bin", "bun");
const hermes = join(root, "dist", "hermes");
const READY_RUNS = Number(process.env.BENCH_READY_RUNS ?? 10);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 10);
const RATE = Number(process.env.BENCH_RATE ?? 5000);
const PACED_S = Number(process.env.BENCH_PACED_S ?? 5);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function rssMiB(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;
}

async function untilReady(port, child, path = "/readyz") {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      if (res.status === 200) return;
    } catch {}
    await sleep(1);
  }
}

const receiver = await replyReceiver();

function makeHome(port, base = tmpdir()) {
  const home = mkdtempSync(join(base, "hermes-bench-"));
  writeFileSync(
    join(home, "config.yaml"),
    `gateway:\n  http: { listen: "127.0.0.1:${port}" }\nplatforms:\n  webhook:\n    allow_all: true\n    reply_url: http://127.0.0.1:${receiver.port}/reply\n`,
  );
  writeFileSync(join(home, ".env"), `WEBHOOK_SECRET=${WEBHOOK_SECRET}\n`, { mode: 0o600 });
  return home;
}

async function startHermes(base) {
  const port = await freePort();
  const home = makeHome(port, base);
  const started = performance.now();
  const child = spawn(hermes, ["gateway", "run", "--home", home, "--log-level", "warn"], {
    env,
    stdio: "ignore",
  });
  await untilReady(port, child);
  return { child, port, home, readyMs: performance.now() - started };
}

// The baseline: a plain hono echo server compiled with the same settings.
mkdirSync(out, { recursive: true });
const baselineSrc = join(out, "echo-server.ts");
writeFileSync(
  baselineSrc,
  `import { Hono } from "hono";
const app = new Hono();
app.get("/readyz", (c) => c.json({ ready: true }));
app.post("/webhooks/webhook", async (c) => c.json(await c.req.json(), 202));
Bun.serve({ port: Number(process.argv[2]), hostname: "127.0.0.1", fetch: app.fetch });
`,
);
const baselineBin = join(out, "echo-server");
spawnSync(bun, [join(root, "scripts", "compile.ts"), baselineSrc, baselineBin], {
  cwd: root,
  stdio: "inherit",
});
async function startBaseline() {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(baselineBin, [String(port)], { env, stdio: "ignore" });
  await untilReady(port, child);
  return { child, port, readyMs: performance.now() - started };
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

// Saturation: CONCURRENCY clients send back to back; throughput, CPU per message, and latency at full load.
async function load(port, pid, expectReplies) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const messages = signedMessages(MESSAGES);
  receiver.count = 0;
  const cpuBefore = cpuMicros(pid);
  const started = performance.now();
  let next = 0;
  let failed = 0;
  const latencies = [];
  async function worker() {
    while (next < messages.length) {
      const message = messages[next++];
      const sent = performance.now();
      const status = await postWebhook(port, agent, message);
      latencies.push(performance.now() - sent);
      if (status !== 202) failed++;
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const acceptSeconds = (performance.now() - started) / 1000;
  if (expectReplies) await until("every reply", () => receiver.count >= MESSAGES - failed, 300_000);
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuMicros(pid) - cpuBefore;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    perSecond: MESSAGES / seconds,
    acceptedPerSecond: MESSAGES / acceptSeconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    cpuPerMessage: cpu / MESSAGES,
    failed,
  };
}

// Paced: messages offered at RATE per second whatever the answers (an open loop), latency counted from when each
// message was due, so a stall shows in every message it delays. A first second at the same rate is not counted.
async function pacedAfterWarmUp(port, expectReplies) {
  await paced(port, expectReplies, 1);
  return paced(port, expectReplies);
}

async function paced(port, expectReplies, seconds = PACED_S) {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const messages = signedMessages(Math.round(RATE * seconds));
  receiver.count = 0;
  const latencies = [];
  const inflight = [];
  const started = performance.now();
  let next = 0;
  while (next < messages.length) {
    const due = (next * 1000) / RATE;
    const now = performance.now() - started;
    if (now < due) {
      await sleep(Math.max(0, Math.min(1, due - now)));
      continue;
    }
    while (next < messages.length && (next * 1000) / RATE <= performance.now() - started) {
      const dueAt = started + (next * 1000) / RATE;
      inflight.push(
        postWebhook(port, agent, messages[next++]).then(
          (status) => latencies.push(performance.now() - dueAt) && status,
        ),
      );
    }
  }
  const statuses = await Promise.all(inflight);
  const failed = statuses.filter((s) => s !== 202).length;
  if (expectReplies) await until("every reply", () => receiver.count >= messages.length - failed, 300_000);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), failed };
}

/** Signals the process and waits (bounded) for it to exit: its home can only be removed once it stopped writing. */
async function stopAndWait(child, signal) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await Promise.race([exited, sleep(20_000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

const readyTimes = [];
for (let i = 0; i < READY_RUNS; i++) {
  const g = await startHermes();
  readyTimes.push(g.readyMs);
  await stopAndWait(g.child, "SIGKILL");
  rmSync(g.home, { recursive: true, force: true });
}
const baseReady = [];
for (let i = 0; i < READY_RUNS; i++) {
  const b = await startBaseline();
  baseReady.push(b.readyMs);
  b.child.kill("SIGKILL");
}

const g = await startHermes();
await sleep(IDLE_S * 1000);
const idle = rssMiB(g.child.pid);
const run = await load(g.port, g.child.pid, true);
const afterLoad = rssMiB(g.child.pid);
const metrics = await (await fetch(`http://127.0.0.1:${g.port}/metrics`)).text();
const syncs = [...metrics.matchAll(/^hermes_journal_syncs_total\{[^}]*\} (\d+)/gm)].reduce(
  (n, m) => n + Number(m[1]),
  0,
);
const runPaced = await pacedAfterWarmUp(g.port, true);
await stopAndWait(g.child, "SIGTERM");
rmSync(g.home, { recursive: true, force: true });

// The same path with the journals on tmpfs: what durability costs.
const t = await startHermes("/dev/shm");
const tmpfs = await load(t.port, t.child.pid, true);
const tmpfsPaced = await pacedAfterWarmUp(t.port, true);
await stopAndWait(t.child, "SIGTERM");
rmSync(t.home, { recursive: true, force: true });

const b = await startBaseline();
await sleep(IDLE_S * 1000);
const baseIdle = rssMiB(b.child.pid);
const base = await load(b.port, b.child.pid, false);
const basePaced = await pacedAfterWarmUp(b.port, false);
b.child.kill("SIGKILL");
receiver.close();

const row = (name, value, baseValue, unit, target) =>
  `${name.padEnd(40)} ${value.toFixed(1).padStart(9)} ${unit.padEnd(8)} baseline ${baseValue.toFixed(1).padStart(9)}  ×${(value / baseValue).toFixed(2)}${target ? `  (target ${target})` : ""}`;
console.log(
  `gateway: ${READY_RUNS} starts, ${MESSAGES} messages at concurrency ${CONCURRENCY}; baseline: a plain hono echo server on Bun`,
);
console.log(row("exec → /readyz 200 (median)", median(readyTimes), median(baseReady), "ms", "≤ 300 ms"));
console.log(row(`idle RSS after ${IDLE_S} s`, idle, baseIdle, "MiB", "≤ 64 MiB"));
console.log(row("webhook in → echo → webhook out", run.perSecond, base.perSecond, "msg/s", "≥ 5000 msg/s"));
console.log(row("CPU per message", run.cpuPerMessage, base.cpuPerMessage, "µs"));
console.log("durability (the same path with the journals on tmpfs as the baseline):");
console.log(
  row("accepted (202) per second", run.acceptedPerSecond, tmpfs.acceptedPerSecond, "msg/s", "≥ 5000 msg/s"),
);
console.log(row(`acceptance p99 at ${RATE} msg/s offered`, runPaced.p99, tmpfsPaced.p99, "ms", "≤ 20 ms"));
console.log(row(`acceptance p50 at ${RATE} msg/s offered`, runPaced.p50, tmpfsPaced.p50, "ms"));
console.log(row(`acceptance p99 at saturation (${CONCURRENCY} clients)`, run.p99, tmpfs.p99, "ms"));
console.log(row(`acceptance p50 at saturation (${CONCURRENCY} clients)`, run.p50, tmpfs.p50, "ms"));
console.log(`fdatasync calls per message (inbound and outbox journals): ${(syncs / MESSAGES).toFixed(3)}`);
console.log(
  `the plain echo server for scale: p99 ${basePaced.p99.toFixed(1)} ms at ${RATE} msg/s, ${base.p99.toFixed(1)} ms at saturation (the load generator shares the machine's cores)`,
);
console.log(
  `RSS after the load: ${afterLoad.toFixed(1)} MiB; refused requests: ${run.failed + runPaced.failed} (tmpfs ${tmpfs.failed + tmpfsPaced.failed}, baseline ${base.failed + basePaced.failed})`,
);
