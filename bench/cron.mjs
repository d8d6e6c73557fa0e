#!/usr/bin/env node
// Scheduler benchmark (part of npm run bench), through the compiled `hermes cron serve`:
// - firing delay: 200 jobs due in the same second (`every 5s`), the delay from each slot to its action's start
//   (the time of its `cron.run` log record), median and p99 over BENCH_CRON_ROUNDS rounds; target p99 ≤ 100 ms;
// - idle CPU with 1,000 jobs (none due during the measurement): CPU time over BENCH_CRON_IDLE_S seconds; target ≤ 1 %.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const hermes = join(root, "dist", "hermes");
const ROUNDS = Number(process.env.BENCH_CRON_ROUNDS ?? 4);
const IDLE_S = Number(process.env.BENCH_CRON_IDLE_S ?? 20);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const env = { PATH: process.env.PATH, HOME: process.env.HOME };

function home(jobs) {
  const dir = mkdtempSync(join(tmpdir(), "hermes-bench-cron-"));
  chmodSync(dir, 0o700);
  writeFileSync(join(dir, "config.yaml"), `cron:\n  jobs:\n${jobs.join("\n")}\n`, { mode: 0o600 });
  return dir;
}

function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const hz = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);
  return (Number(f[11]) + Number(f[12])) / hz;
}

function start(dir, level) {
  const child = spawn(hermes, ["cron", "serve", "--home", dir, "--log-level", level], {
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = [];
  let buffer = "";
  child.stdout.on("data", (chunk) => {
    buffer += chunk;
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      lines.push(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
  });
  return { child, lines };
}

async function stop(child) {
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

// Firing delay: 200 jobs, all due at the same instants.
const burst = home(
  Array.from({ length: 200 }, (_, i) => `    - { id: job${i}, schedule: "every 5s", message: hi }`),
);
const serve = start(burst, "info");
const ready = () => serve.lines.some((l) => l.includes('"cron.ready"'));
for (let i = 0; i < 100 && !ready(); i++) await sleep(50);
await sleep(ROUNDS * 5000 + 1000);
await stop(serve.child);
const delays = serve.lines
  .map((l) => {
    try {
      return JSON.parse(l);
    } catch {
      return undefined;
    }
  })
  .filter((r) => r?.event === "cron.run")
  .map((r) => Date.parse(r.time) - Date.parse(r.slot))
  .sort((a, b) => a - b);
rmSync(burst, { recursive: true, force: true });
const pct = (p) => delays[Math.min(delays.length - 1, Math.ceil((p / 100) * delays.length) - 1)];

// Idle: 1,000 jobs with schedules of hours and days.
const idle = home(
  Array.from({ length: 1000 }, (_, i) => {
    const schedule = i % 2 ? `"${i % 60} ${i % 24} * * *"` : `"every ${(i % 40) + 2}h"`;
    return `    - { id: job${i}, schedule: ${schedule}, timezone: Europe/Berlin, message: hi }`;
  }),
);
const quiet = start(idle, "warn");
await sleep(3000);
const before = cpuSeconds(quiet.child.pid);
await sleep(IDLE_S * 1000);
const used = cpuSeconds(quiet.child.pid) - before;
await stop(quiet.child);
rmSync(idle, { recursive: true, force: true });

const cpu = (100 * used) / IDLE_S;
console.log("scheduler (hermes cron serve)");
console.log(
  `  firing delay, 200 jobs due at once (${delays.length} runs): median ${pct(50)} ms, p99 ${pct(99)} ms (target p99 ≤ 100 ms)`,
);
console.log(`  idle CPU with 1,000 jobs over ${IDLE_S} s: ${cpu.toFixed(2)} % (target ≤ 1 %)`);
if (delays.length < 200 * (ROUNDS - 1)) throw new Error(`only ${delays.length} runs were seen`);
