#!/usr/bin/env node
// systemd benchmark (part of npm run bench): the compiled gateway under its generated unit in a real systemd
// sandbox (test/systemd): process start → READY as systemd times it, and SIGUSR1 → active again split into the
// drain (signal → exit), RestartSec plus timer slack (exit → new process) and start → READY; the overhead is
// what a restart costs beyond the drain and RestartSec. Medians of BENCH_SYSTEMD_RUNS runs in one sandbox.
// It imports the TypeScript harness, so it runs under Bun: under Node it runs itself again with the project's Bun.
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const RUNS = Number(process.env.BENCH_SYSTEMD_RUNS ?? 5);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function bench() {
  const { sandboxUnavailable } = await import("../test/systemd/harness.ts");
  const why = sandboxUnavailable();
  if (why) {
    console.log(`systemd benchmark skipped: ${why}`);
    return;
  }
  const { GatewayUnit, signalRestart, startToReadyMs, webhookConfig, RESTART_SEC } = await import(
    "../test/systemd/gateway-unit.ts"
  );
  const gu = await GatewayUnit.create({
    name: "bench",
    maxLifeS: 60 + RUNS * 10,
    config: webhookConfig({ replyUrl: "http://127.0.0.1:9/" }),
  });
  try {
    const ready = [];
    for (let i = 0; i < RUNS; i++) {
      await gu.start();
      ready.push(await startToReadyMs(gu));
      const stopped = await gu.systemctl("stop");
      if (stopped.code !== 0) throw new Error(`systemctl stop failed: ${stopped.stderr}`);
    }
    await gu.start();
    const restarts = [];
    for (let i = 0; i < RUNS; i++) restarts.push((await signalRestart(gu)).timing);
    const ms = (xs) => `${median(xs).toFixed(1)} ms`;
    console.log(
      `${spawnSync("systemctl", ["--version"], { encoding: "utf8" }).stdout.split("\n")[0]}, unit from ${gu.unitSource === "install-service" ? "hermes install-service" : "a TEMPORARY stand-in (install-service not built yet)"}, medians of ${RUNS} runs`,
    );
    if (!gu.notify)
      console.log(
        "  dist/hermes sends no READY=1 yet: the unit runs as Type=simple, so start → active is the fork",
      );
    console.log(`  start → READY (active)           ${ms(ready)}`);
    console.log(
      `  SIGUSR1 → old process exited     ${ms(restarts.map((t) => t.exitMs))}  (drain, nothing in flight)`,
    );
    console.log(
      `  exit → new process               ${ms(restarts.map((t) => t.restartDelayMs))}  (RestartSec ${RESTART_SEC * 1000} ms)`,
    );
    console.log(`  new process → READY (active)     ${ms(restarts.map((t) => t.readyMs))}`);
    console.log(`  restart overhead beyond drain and RestartSec  ${ms(restarts.map((t) => t.overheadMs))}`);
    if (process.argv.includes("--json")) console.log(JSON.stringify({ ready, restarts }));
  } finally {
    await gu.dispose();
  }
}

if (process.versions.bun) await bench();
else {
  const run = spawnSync(
    join(root, "node_modules", ".bin", "bun"),
    [import.meta.filename, ...process.argv.slice(2)],
    {
      stdio: "inherit",
    },
  );
  process.exitCode = run.status ?? 1;
}
