#!/usr/bin/env node
// systemd benchmark (part of npm run bench): the compiled gateway under the unit `hermes install-service
// --system --dry-run` generates (plus the tests' short-timing drop-in: RestartSec=2, WatchdogSec=3), in a real
// systemd sandbox (test/systemd), against a floor measured in the same sandbox and the same run.
//
// - start → READY: ExecMainStartTimestamp → ActiveEnterTimestamp, i.e. exec until systemd took READY=1.
// - SIGUSR1 → active again, split into the drain (signal → exit), RestartSec plus timer slack (exit → new
//   process) and start → READY; the overhead is what a restart costs beyond the drain and RestartSec.
//
// The floor is bench/systemd-floor.ts, compiled like hermes and run under the same generated unit (install-service
// --name floor --binary …): a Bun program that sends READY=1 through hermes's own notify code as soon as it runs
// and exits 75 on SIGUSR1. So the floor holds what systemd, the unit's sandboxing and the Bun runtime cost, and
// hermes − floor is what hermes itself does before READY=1 (config, lint, journals, servers). A Type=simple unit
// would be no floor at all: it is active at fork, before the program has run.
//
// Medians of BENCH_SYSTEMD_RUNS runs (default 5) after one warm-up, the two units alternating, one running at a
// time. It imports the TypeScript harness, so it runs under Bun: under Node it runs itself again with the
// project's Bun.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { printTable } from "./lib/table.mjs";

const root = join(import.meta.dirname, "..");
const bun = join(root, "node_modules", ".bin", "bun");
const RUNS = Number(process.env.BENCH_SYSTEMD_RUNS ?? 5);
const WARMUP = 1;
const TARGET = { readyMs: 300, overheadMs: 500 };

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function bench() {
  const harness = await import("../test/systemd/harness.ts");
  const why = harness.sandboxUnavailable();
  if (why) {
    console.log(`systemd benchmark skipped: ${why}`);
    return;
  }
  const { GatewayUnit, RESTART_SEC, webhookConfig } = await import("../test/systemd/gateway-unit.ts");
  const { UNIT_NAME, generatedUnit, restartBySignal, startToReadyMs, timingDropIn, waitActive } = harness;

  mkdirSync(join(root, ".bench"), { recursive: true });
  const floor = join(root, ".bench", "systemd-floor");
  const built = spawnSync(
    bun,
    [join(root, "scripts", "compile.ts"), join(import.meta.dirname, "systemd-floor.ts"), floor],
    {
      encoding: "utf8",
    },
  );
  if (built.status !== 0) throw new Error(`building the floor failed: ${built.stderr}`);

  const gu = await GatewayUnit.create({
    name: "bench",
    maxLifeS: 60 + (RUNS + WARMUP) * 20,
    config: webhookConfig({ replyUrl: "http://127.0.0.1:9/" }),
    binds: [{ source: floor, target: "/opt/hermes/floor", readOnly: true }],
  });
  const { sb } = gu;
  try {
    const FLOOR_UNIT = "hermes-gateway-floor.service";
    const floorUnit = await generatedUnit(sb, { execStart: "/opt/hermes/floor", name: "floor" });
    await sb.writeUnit(FLOOR_UNIT, floorUnit, { "50-test-timings.conf": timingDropIn({ timeoutStopS: 17 }) });
    const cases = [
      { key: "floor", unit: FLOOR_UNIT, waitUp: (notPid) => waitActive(sb, FLOOR_UNIT, notPid) },
      { key: "hermes", unit: UNIT_NAME, waitUp: (notPid) => gu.waitUp({ notPid }) },
    ];
    const samples = { floor: { ready: [], restarts: [] }, hermes: { ready: [], restarts: [] } };
    for (let i = 0; i < WARMUP + RUNS; i++) {
      for (const c of cases) {
        const started = await sb.systemctl("start", c.unit);
        if (started.code !== 0) throw new Error(`systemctl start ${c.unit} failed: ${started.stderr}`);
        await c.waitUp(undefined);
        const ready = await startToReadyMs(sb, c.unit);
        const { timing } = await restartBySignal(sb, c.unit, RESTART_SEC, c.waitUp);
        const stopped = await sb.systemctl("stop", c.unit);
        if (stopped.code !== 0) throw new Error(`systemctl stop ${c.unit} failed: ${stopped.stderr}`);
        if (i < WARMUP) continue;
        samples[c.key].ready.push(ready);
        samples[c.key].restarts.push(timing);
      }
    }

    const m = (key, pick) =>
      median(pick === "ready" ? samples[key].ready : samples[key].restarts.map((t) => t[pick]));
    const verdict = (value, target) => `≤ ${target} ms ${value <= target ? "ok" : "OVER"}`;
    const rows = [
      ["start → READY (active)", "ready", verdict(m("hermes", "ready"), TARGET.readyMs)],
      [
        "restart overhead beyond drain and RestartSec",
        "overheadMs",
        verdict(m("hermes", "overheadMs"), TARGET.overheadMs),
      ],
      ["  SIGUSR1 → old process exited (drain, nothing in flight)", "exitMs", ""],
      [`  exit → new process (RestartSec ${RESTART_SEC * 1000} ms + timer slack)`, "restartDelayMs", ""],
      ["  new process → READY (active)", "readyMs", ""],
    ].map(([name, pick, target]) => [
      name,
      `${m("hermes", pick).toFixed(1)} ms`,
      `${m("floor", pick).toFixed(1)} ms`,
      `${(m("hermes", pick) - m("floor", pick)).toFixed(1)} ms`,
      target,
    ]);
    const header = ["under systemd", "hermes", "floor", "hermes − floor", "target (hermes)"];
    const version = (await sb.exec(["systemctl", "--version"])).stdout.split("\n")[0];
    console.log(
      `${version}; both units from hermes install-service --system --dry-run, with RestartSec=2 and WatchdogSec=3; medians of ${RUNS} runs after ${WARMUP} warm-up; floor: bench/systemd-floor.ts (READY=1 at once through the same notify code)`,
    );
    printTable(header, rows);
    if (process.argv.includes("--json")) console.log(JSON.stringify(samples));
  } finally {
    await gu.dispose();
  }
}

if (process.versions.bun) await bench();
else {
  const run = spawnSync(bun, [import.meta.filename, ...process.argv.slice(2)], { stdio: "inherit" });
  process.exitCode = run.status ?? 1;
}
