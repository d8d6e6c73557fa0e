#!/usr/bin/env node
// Cron benchmark (part of npm run bench), against a compiled croner program that schedules the same jobs and
// runs the same actions (bench/cron-floor.ts), measured in the same run:
//  (a) firing delay, from a slot to its action's start, with 200 command jobs due in the same second: each
//      command appends `date +%s.%N` to one file; delay = that time - the slot (median, p99). Much of it is
//      starting 200 processes on the machine's cores, which the baseline pays too: the ratio is what hermes adds;
//  (b) the same without a process per job: 200 message jobs due in one second, from the slot to each result's
//      arrival at the gateway's `POST /v1/send` (a stand-in listening on run/gateway.sock), which is how
//      `cron serve` hands results on (SPEC §7): the scheduler's own delay;
//  (c) scheduler CPU at idle with 1,000 jobs, none due, as a percent of one core over BENCH_CRON_IDLE_S seconds.
// Targets: p99 <= 100 ms, idle <= 1 %. hermes runs as `hermes cron serve --home H` with the jobs in
// cron/jobs.json; until that command is built, its half is skipped and the reason printed.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const out = join(root, ".bench");
const bun = join(root, "node_modules", ".bin", "bun");
const hermes = join(root, "dist", "hermes");
const DUE = Number(process.env.BENCH_CRON_JOBS ?? 200);
const IDLE_JOBS = Number(process.env.BENCH_CRON_IDLE_JOBS ?? 1000);
const IDLE_S = Number(process.env.BENCH_CRON_IDLE_S ?? 20);
const SETTLE_S = 5;
/** How long after a slot its runs are waited for. */
const AFTER_SLOT_MS = 30_000;

const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
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

// --- the three workloads: jobs, and how their runs are observed ---------------------------------------------

/**
 * (a) Command jobs due at second `second` of every minute, each appending its start time to a log of that second
 * (so runs of another second, such as the warm-up's, are never counted).
 */
const commands = {
  jobs: (home, second) =>
    Array.from({ length: DUE }, (_, i) => ({
      id: `due-${i}`,
      schedule: `${second} * * * * *`,
      timezone: "UTC",
      // exec: the shell becomes date, so the time is taken one fork earlier.
      command: `exec date +%s.%N >> ${join(home, `starts-${second}.log`)}`,
      timeout: "30s",
    })),
  /** The delays after `slot` of the starts logged so far, in ms. */
  observe: (home) => (slot) => {
    const log = join(home, `starts-${slot.getUTCSeconds()}.log`);
    const lines = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : [];
    return lines.map((l) => Number(l) * 1000 - slot.getTime());
  },
};

/** (b) Message jobs due at second `second`, each delivering to one target; observed at the stand-in gateway. */
const messages = {
  jobs: (_home, second) =>
    Array.from({ length: DUE }, (_, i) => ({
      id: `msg-${i}`,
      schedule: `${second} * * * * *`,
      timezone: "UTC",
      message: `result ${i}`,
      deliver: ["webhook:bench"],
    })),
  /** Results carry the id `cron:<job>:<slot ISO>:<target index>`: the delays of those of `slot`. */
  observe: (_home, gateway) => (slot) => {
    const mark = `:${slot.toISOString()}:`;
    return [...gateway.arrived].filter(([id]) => id.includes(mark)).map(([, at]) => at - slot.getTime());
  },
};

/** (c) Daily jobs, none of them due within the next hour. */
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
        try {
          const { id } = JSON.parse(text);
          if (typeof id === "string" && !arrived.has(id)) arrived.set(id, at);
        } catch {
          // not a send request: ignored
        }
        res.writeHead(202, { "content-type": "application/json" });
        return res.end(JSON.stringify({ status: "accepted" }));
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ state: "running", ready: true }));
    });
  });
  await new Promise((resolve) => server.listen(socket, resolve));
  return { socket, arrived, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** Waits until `DUE` runs of `slot` are observed, or AFTER_SLOT_MS passes; their delays in ms. */
async function runsOf(observe, slot) {
  const deadline = slot.getTime() + AFTER_SLOT_MS;
  let seen = observe(slot);
  while (seen.length < DUE && Date.now() < deadline) {
    await sleep(100);
    seen = observe(slot);
  }
  return seen;
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

/**
 * hermes: started with the jobs on a slot half a minute away, then moved to one a few seconds ahead once it
 * fires, so the slot measured is one it planned from its (re-read) jobs file, not one it met while starting.
 */
const hermesScheduler = {
  start: (home) =>
    spawn(hermes, ["cron", "serve", "--home", home, "--log-level", "warn"], { env, stdio: "ignore" }),
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
      return await runsOf(workload.observe(home, gateway), slot);
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
  start(jobsFile, gatewaySocket) {
    const args = gatewaySocket ? [jobsFile, gatewaySocket] : [jobsFile];
    const child = spawn(floorBin, args, { env, stdio: ["ignore", "pipe", "ignore"] });
    const ready = new Promise((resolve, reject) => {
      child.stdout.on("data", (c) => String(c).includes("ready") && resolve());
      child.once("exit", (code) => reject(new Error(`the baseline exited ${code}`)));
    });
    return { child, ready };
  },
  async due(home, workload, gateway) {
    const { slot, second } = nextSlot(3);
    const floor = this.start(writeJobs(home, workload.jobs(home, second)), gateway?.socket);
    try {
      await floor.ready;
      return await runsOf(workload.observe(home, gateway), slot);
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

async function measure(scheduler) {
  return {
    firing: await inHome(false, (home) => scheduler.due(home, commands)),
    forwarded: await inHome(true, (home, gateway) => scheduler.due(home, messages, gateway)),
    idle: await inHome(false, (home) => scheduler.idle(home)),
  };
}

// --- run -----------------------------------------------------------------------------------------------------

mkdirSync(out, { recursive: true });
const built = spawnSync(
  bun,
  [join(root, "scripts", "compile.ts"), join(root, "bench", "cron-floor.ts"), floorBin],
  {
    cwd: root,
    encoding: "utf8",
  },
);
if (built.status !== 0) {
  process.stderr.write(built.stderr ?? "");
  throw new Error("building the cron baseline failed");
}

const serveHelp = existsSync(hermes)
  ? spawnSync(hermes, ["cron", "serve", "--help"], { encoding: "utf8" })
  : undefined;
const skipReason = !serveHelp
  ? `${hermes} does not exist (npm run build)`
  : /not built yet/.test(serveHelp.stdout + serveHelp.stderr)
    ? "this build's `hermes cron serve` is not built yet (its help says so)"
    : undefined;

const floor = await measure(floorScheduler);
const mine = skipReason ? undefined : await measure(hermesScheduler);

const stats = (d) =>
  d === undefined || d.length === 0
    ? undefined
    : { n: d.length, p50: median(d), p99: percentile(d, 0.99), max: Math.max(...d) };
const fmt = (x, unit) => (x === undefined ? "-" : `${x.toFixed(1)} ${unit}`);
const rows = [];
const add = (name, value, base, unit, target) =>
  rows.push([
    name,
    fmt(value, unit),
    fmt(base, unit),
    value !== undefined && base ? `×${(value / base).toFixed(2)}` : "",
    target ? `target ≤ ${target} ${unit}${value === undefined ? "" : value <= target ? " ok" : " OVER"}` : "",
  ]);
const h = { firing: stats(mine?.firing), forwarded: stats(mine?.forwarded) };
const b = { firing: stats(floor.firing), forwarded: stats(floor.forwarded) };
add(`command jobs: slot → start, p50 (${DUE} due)`, h.firing?.p50, b.firing?.p50, "ms");
add(`command jobs: slot → start, p99 (${DUE} due)`, h.firing?.p99, b.firing?.p99, "ms", 100);
add(`message jobs: slot → gateway, p50 (${DUE} due)`, h.forwarded?.p50, b.forwarded?.p50, "ms");
add(`message jobs: slot → gateway, p99 (${DUE} due)`, h.forwarded?.p99, b.forwarded?.p99, "ms", 100);
add(`CPU at idle (${IDLE_JOBS} jobs, ${IDLE_S} s)`, mine?.idle, floor.idle, "%", 1);

console.log(
  `cron: ${DUE} jobs due in one second (command: /bin/sh -c 'exec date +%s.%N >> file'; message: to a stand-in gateway socket); baseline: croner alone, compiled the same way; ${spawnSync("nproc", { encoding: "utf8" }).stdout.trim()} cores`,
);
const header = ["case", "hermes", "baseline", "ratio", ""];
const widths = header.map((x, i) => Math.max(x.length, ...rows.map((r) => r[i].length)));
const line = (cells) =>
  cells
    .map((c, i) => c.padEnd(widths[i]))
    .join("  ")
    .trimEnd();
console.log(line(header));
for (const r of rows) console.log(line(r));
for (const [who, s] of [
  ["hermes", mine && h],
  ["the baseline", b],
])
  for (const [what, x] of Object.entries(s ?? {}))
    if ((x?.n ?? 0) < DUE)
      console.log(
        `${who}: only ${x?.n ?? 0} of ${DUE} ${what} runs seen within ${AFTER_SLOT_MS / 1000} s of the slot`,
      );
if (skipReason) console.log(`hermes skipped: ${skipReason}; only the baseline was measured`);
if (process.argv.includes("--json"))
  console.log(
    JSON.stringify({
      hermes: mine && { ...h, idle: mine.idle },
      baseline: { ...b, idle: floor.idle },
      skipped: skipReason ?? null,
    }),
  );
