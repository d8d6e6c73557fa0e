#!/usr/bin/env node
// Cron benchmark (part of npm run bench): `hermes cron serve` against a compiled croner program that schedules the
// same jobs and runs the same actions (bench/cron-floor.ts), measured in the same run, BENCH_CRON_ROUNDS rounds
// (default 3), each figure the median of the rounds'.
//
// The metrics of issue 6, the primary rows (targets: p99 <= 100 ms, idle <= 1 %):
//  - firing delay: from a slot to its action's start, with 200 jobs due in the same second (median, p99), as each
//    scheduler records it, on the same clock (Date.now() of the machine): hermes's `cron.run` log record carries
//    `started_at`, written just before the action starts; the floor prints the time in croner's callback just
//    before it spawns or sends. Once with command jobs (each start includes the process spawns before it, in both),
//    once with message jobs (no process: the scheduler alone);
//  - scheduler CPU at idle with 1,000 jobs, none due, as a percent of one core over BENCH_CRON_IDLE_S seconds.
// End to end, secondary rows (no target; the same runs):
//  - command jobs: the time `date` wrote inside the spawned shell - the slot: adds forking 200 processes on the
//    machine's cores, which the floor pays too;
//  - message jobs: the slot to each result's arrival at `POST /v1/send` on a stand-in gateway socket
//    (run/gateway.sock): adds, for hermes, `cron serve`'s durable spool and its forwarding to the gateway.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { printTable } from "./lib/table.mjs";

const root = join(import.meta.dirname, "..");
const out = join(root, ".bench");
const bun = join(root, "node_modules", ".bin", "bun");
const hermes = join(root, "dist", "hermes");
const DUE = Number(process.env.BENCH_CRON_JOBS ?? 200);
const IDLE_JOBS = Number(process.env.BENCH_CRON_IDLE_JOBS ?? 1000);
const IDLE_S = Number(process.env.BENCH_CRON_IDLE_S ?? 20);
const ROUNDS = Number(process.env.BENCH_CRON_ROUNDS ?? 3);
const SETTLE_S = 5;
/** How long after a slot its runs are waited for. */
const AFTER_SLOT_MS = 30_000;

const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
// The log goes to logs/cron.log (read below), not to the journal.
delete env.INVOCATION_ID;
delete env.JOURNAL_STREAM;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => {
  const s = sorted(xs);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
/** The smallest value at or above the p-th share of the samples (p99 of 200 is the 198th). */
const percentile = (xs, p) => sorted(xs)[Math.max(0, Math.ceil(xs.length * p) - 1)];
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);

function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** One GET over a unix socket; undefined when nothing answers. */
function getJson(socketPath, path) {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, method: "GET", timeout: 1000 }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => {
        try {
          resolve(JSON.parse(text));
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
    req.end();
  });
}

async function until(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

function writeJobs(home, jobs) {
  mkdirSync(join(home, "cron"), { recursive: true, mode: 0o700 });
  const file = join(home, "cron", "jobs.json");
  writeFileSync(file, `${JSON.stringify({ version: 1, jobs }, null, 2)}\n`, { mode: 0o600 });
  return file;
}

/** The next instant on a whole UTC second at least `leadS` seconds away, and that second. */
function nextSlot(leadS) {
  const slot = new Date(Math.ceil((Date.now() + leadS * 1000) / 1000) * 1000);
  return { slot, second: slot.getUTCSeconds() };
}

// --- the workloads: jobs, and how their ends are observed ------------------------------------------------------

/**
 * Command jobs due at second `second` of every minute, each appending the time `date` runs to a log of that second
 * (so runs of another second are never counted).
 */
const commands = {
  name: "command",
  jobs: (home, second) =>
    Array.from({ length: DUE }, (_, i) => ({
      id: `due-${i}`,
      schedule: `${second} * * * * *`,
      timezone: "UTC",
      // exec: the shell becomes date, so the time is taken one fork earlier.
      command: `exec date +%s.%N >> ${join(home, `starts-${second}.log`)}`,
      timeout: "30s",
    })),
  /** The delays after `slot` of the runs of `date` logged so far, in ms. */
  ends: (home) => (slot) => {
    const log = join(home, `starts-${slot.getUTCSeconds()}.log`);
    const lines = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : [];
    return lines.map((l) => Number(l) * 1000 - slot.getTime());
  },
};

/** Message jobs due at second `second`, each delivering to one target; observed at the stand-in gateway. */
const messages = {
  name: "message",
  jobs: (_home, second) =>
    Array.from({ length: DUE }, (_, i) => ({
      id: `msg-${i}`,
      schedule: `${second} * * * * *`,
      timezone: "UTC",
      message: `result ${i}`,
      deliver: ["webhook:bench"],
    })),
  /** Results carry the id `cron:<job>:<slot ISO>:<target index>`: the delays of those of `slot`. */
  ends: (_home, gateway) => (slot) => {
    const mark = `:${slot.toISOString()}:`;
    return [...gateway.arrived].filter(([id]) => id.includes(mark)).map(([, at]) => at - slot.getTime());
  },
};

/** Daily jobs, none of them due within the next hour. */
function idleJobs(home) {
  const hour = new Date().getUTCHours();
  return Array.from({ length: IDLE_JOBS }, (_, i) => ({
    id: `idle-${i}`,
    schedule: `${i % 60} ${(hour + 2 + (i % 20)) % 24} * * *`,
    timezone: "UTC",
    command: `exec date +%s.%N >> ${join(home, "starts.log")}`,
  }));
}

/** A stand-in for the gateway's control socket: takes every `POST /v1/send` and notes when each id arrived. */
async function fakeGateway(home) {
  mkdirSync(join(home, "run"), { recursive: true, mode: 0o700 });
  const socket = join(home, "run", "gateway.sock");
  const arrived = new Map();
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (c) => (text += c));
    req.on("end", () => {
      const at = Date.now();
      if (req.method === "POST" && req.url === "/v1/send") {
        let body;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        // One message, or a batch ({"messages": [...]}), as the real gateway takes them.
        const list = Array.isArray(body?.messages) ? body.messages : [body];
        for (const m of list) if (typeof m?.id === "string" && !arrived.has(m.id)) arrived.set(m.id, at);
        res.writeHead(Array.isArray(body?.messages) ? 200 : 202, { "content-type": "application/json" });
        return res.end(
          JSON.stringify(
            Array.isArray(body?.messages)
              ? { results: list.map((m) => ({ status: 202, id: m?.id })) }
              : { id: body?.id },
          ),
        );
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ state: "running", ready: true, messages: [] }));
    });
  });
  await new Promise((resolve) => server.listen(socket, resolve));
  return { socket, arrived, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** Waits until `DUE` starts and `DUE` ends of `slot` are observed, or AFTER_SLOT_MS passes; their delays in ms. */
async function runsOf(starts, ends, slot) {
  const deadline = slot.getTime() + AFTER_SLOT_MS;
  const seen = () => ({ starts: starts(slot), ends: ends(slot) });
  let now = seen();
  while ((now.starts.length < DUE || now.ends.length < DUE) && Date.now() < deadline) {
    await sleep(100);
    now = seen();
  }
  return now;
}

/** Percent of one core used over IDLE_S seconds, after SETTLE_S seconds to settle. */
async function idleCpu(pid) {
  await sleep(SETTLE_S * 1000);
  const before = cpuSeconds(pid);
  const started = performance.now();
  await sleep(IDLE_S * 1000);
  return ((cpuSeconds(pid) - before) / ((performance.now() - started) / 1000)) * 100;
}

// --- the schedulers: hermes cron serve, and croner alone ---------------------------------------------------

/** `cron.run` records of hermes's log: the delays from `slot` to each action's `started_at`. */
function hermesStarts(home) {
  return (slot) => {
    const log = join(home, "logs", "cron.log");
    if (!existsSync(log)) return [];
    const iso = slot.toISOString();
    const delays = [];
    for (const line of readFileSync(log, "utf8").split("\n")) {
      if (!line.includes('"cron.run"') || !line.includes(iso)) continue;
      const r = JSON.parse(line);
      if (r.slot === iso) delays.push(Date.parse(r.started_at) - slot.getTime());
    }
    return delays;
  };
}

/**
 * hermes: started with the jobs on a slot half a minute away, then moved to one a few seconds ahead once it
 * fires, so the slot measured is one it planned from its (re-read) jobs file, not one it met while starting.
 */
const hermesScheduler = {
  name: "hermes",
  start: (home) =>
    spawn(hermes, ["cron", "serve", "--home", home, "--log-level", "info"], { env, stdio: "ignore" }),
  /** Until it holds the lock and its live view has `count` jobs (all with the next run `slotIso`, if given). */
  ready: (home, child, count, slotIso) =>
    until(
      `hermes cron serve to schedule ${count} jobs`,
      async () => {
        if (child.exitCode !== null) throw new Error(`hermes cron serve exited ${child.exitCode}`);
        const view = await getJson(join(home, "run", "cron.sock"), "/admin/cron");
        return (
          view?.alive === true &&
          view.jobs.length === count &&
          (slotIso === undefined || view.jobs.every((j) => Date.parse(j.next_run_at) === Date.parse(slotIso)))
        );
      },
      30_000,
    ),
  async due(home, workload, gateway) {
    const first = nextSlot(0);
    writeJobs(home, workload.jobs(home, (first.second + 30) % 60));
    const child = this.start(home);
    try {
      await this.ready(home, child, DUE);
      const { slot, second } = nextSlot(4);
      writeJobs(home, workload.jobs(home, second));
      await this.ready(home, child, DUE, slot.toISOString());
      return await runsOf(hermesStarts(home), workload.ends(home, gateway), slot);
    } finally {
      child.kill("SIGKILL");
    }
  },
  async idle(home) {
    writeJobs(home, idleJobs(home));
    const child = this.start(home);
    try {
      await this.ready(home, child, IDLE_JOBS);
      return await idleCpu(child.pid);
    } finally {
      child.kill("SIGKILL");
    }
  },
};

const floorBin = join(out, "cron-floor");

const floorScheduler = {
  name: "floor",
  /** The floor, with the action starts it prints (epoch ms per job). */
  start(jobsFile, gatewaySocket) {
    const args = gatewaySocket ? [jobsFile, gatewaySocket] : [jobsFile];
    const child = spawn(floorBin, args, { env, stdio: ["ignore", "pipe", "ignore"] });
    const started = [];
    let buffer = "";
    const ready = new Promise((resolve, reject) => {
      child.stdout.on("data", (c) => {
        buffer += c;
        for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line === "ready") resolve();
          else started.push(Number(line.split(" ")[1]));
        }
      });
      child.once("exit", (code) => reject(new Error(`the baseline exited ${code}`)));
    });
    return { child, ready, started };
  },
  async due(home, workload, gateway) {
    const { slot, second } = nextSlot(3);
    const floor = this.start(writeJobs(home, workload.jobs(home, second)), gateway?.socket);
    try {
      await floor.ready;
      const starts = (at) => floor.started.map((t) => t - at.getTime());
      return await runsOf(starts, workload.ends(home, gateway), slot);
    } finally {
      floor.child.kill("SIGKILL");
    }
  },
  async idle(home) {
    const floor = this.start(writeJobs(home, idleJobs(home)));
    try {
      await floor.ready;
      return await idleCpu(floor.child.pid);
    } finally {
      floor.child.kill("SIGKILL");
    }
  },
};

/** Runs `fn` in a fresh home (with a stand-in gateway when asked), removed afterwards. */
async function inHome(withGateway, fn) {
  const home = mkdtempSync(join(tmpdir(), "hermes-bench-cron-"));
  const gateway = withGateway ? await fakeGateway(home) : undefined;
  try {
    return await fn(home, gateway);
  } finally {
    await gateway?.close();
    rmSync(home, { recursive: true, force: true });
  }
}

const stats = (d) =>
  d === undefined || d.length === 0
    ? undefined
    : { n: d.length, p50: median(d), p99: percentile(d, 0.99), max: Math.max(...d) };

/** One round of one scheduler: every figure, and the runs it did not see. */
async function measure(scheduler) {
  const command = await inHome(false, (home) => scheduler.due(home, commands));
  const message = await inHome(true, (home, gateway) => scheduler.due(home, messages, gateway));
  const idle = await inHome(false, (home) => scheduler.idle(home));
  const round = {
    commandStart: stats(command.starts),
    messageStart: stats(message.starts),
    commandDate: stats(command.ends),
    messageGateway: stats(message.ends),
    idle,
  };
  for (const [what, s] of Object.entries(round))
    if (what !== "idle" && (s?.n ?? 0) < DUE)
      console.log(
        `${scheduler.name}: only ${s?.n ?? 0} of ${DUE} (${what}) seen within ${AFTER_SLOT_MS / 1000} s of the slot`,
      );
  return round;
}

// --- run -----------------------------------------------------------------------------------------------------

mkdirSync(out, { recursive: true });
const built = spawnSync(
  bun,
  [join(root, "scripts", "compile.ts"), join(root, "bench", "cron-floor.ts"), floorBin],
  { cwd: root, encoding: "utf8" },
);
if (built.status !== 0) {
  process.stderr.write(built.stderr ?? "");
  throw new Error("building the cron baseline failed");
}
if (!existsSync(hermes)) throw new Error(`${hermes} does not exist: npm run build`);

const rounds = { hermes: [], floor: [] };
for (let i = 0; i < ROUNDS; i++) {
  // Alternated, so that neither always runs on a machine warmed (or loaded) by the other.
  const order = i % 2 === 0 ? [floorScheduler, hermesScheduler] : [hermesScheduler, floorScheduler];
  for (const scheduler of order) rounds[scheduler.name].push(await measure(scheduler));
}

/** The median over the rounds of one figure (undefined when a round has none). */
function across(who, pick) {
  const values = rounds[who].map(pick).filter((x) => x !== undefined);
  return values.length === 0 ? undefined : median(values);
}

const fmt = (x, unit) => (x === undefined ? "-" : `${x.toFixed(1)} ${unit}`);
const rows = [];
const add = (name, pick, unit, target) => {
  const value = across("hermes", pick);
  const base = across("floor", pick);
  rows.push([
    name,
    fmt(value, unit),
    fmt(base, unit),
    value !== undefined && base ? `×${(value / base).toFixed(2)}` : "",
    target ? `target ≤ ${target} ${unit}${value === undefined ? "" : value <= target ? " ok" : " OVER"}` : "",
  ]);
};
add(`slot → action start, command jobs, p50 (${DUE} due)`, (r) => r.commandStart?.p50, "ms");
add(`slot → action start, command jobs, p99 (${DUE} due)`, (r) => r.commandStart?.p99, "ms", 100);
add(`slot → action start, message jobs, p50 (${DUE} due)`, (r) => r.messageStart?.p50, "ms");
add(`slot → action start, message jobs, p99 (${DUE} due)`, (r) => r.messageStart?.p99, "ms", 100);
add(`CPU at idle (${IDLE_JOBS} jobs, ${IDLE_S} s)`, (r) => r.idle, "%", 1);
add(`end to end: slot → \`date\` ran in the job's shell, p50`, (r) => r.commandDate?.p50, "ms");
add(`end to end: slot → \`date\` ran in the job's shell, p99`, (r) => r.commandDate?.p99, "ms");
add(`end to end: slot → message result at the gateway, p50`, (r) => r.messageGateway?.p50, "ms");
add(`end to end: slot → message result at the gateway, p99`, (r) => r.messageGateway?.p99, "ms");

console.log(
  `cron: ${DUE} jobs due in one second (command: /bin/sh -c 'exec date +%s.%N >> file'; message: to a stand-in gateway socket); baseline: croner alone, compiled the same way; median of ${ROUNDS} round(s); ${spawnSync("nproc", { encoding: "utf8" }).stdout.trim()} cores`,
);
const header = ["case", "hermes", "baseline", "ratio", ""];
printTable(header, rows);
if (process.argv.includes("--json")) console.log(JSON.stringify({ rounds }));
