#!/usr/bin/env node
// npm run bench: start-up time and peak memory of the compiled binary, against a compiled hello-world built
// in the same run with the same flags (the floor). Medians of RUNS runs after WARMUP warm-up runs, with
// NODE_EXTRA_CA_CERTS unset (it makes every start parse the whole CA bundle).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const out = join(root, ".bench");
const bun = join(root, "node_modules", ".bin", "bun");
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);

const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;

function must(result, what) {
  if (result.status !== 0) {
    process.stderr.write(result.stderr ?? "");
    throw new Error(`${what} failed`);
  }
  return result.stdout;
}

mkdirSync(out, { recursive: true });
if (!existsSync(join(root, "dist", "hermes")))
  must(
    spawnSync(process.execPath, [join(root, "scripts", "build.mjs")], { encoding: "utf8", stdio: "inherit" }),
    "build",
  );
const floor = join(out, "floor");
// The floor is compiled by the same script, with the same settings, as hermes itself.
must(
  spawnSync(bun, [join(root, "scripts", "compile.ts"), join(root, "bench", "floor.ts"), floor], {
    encoding: "utf8",
  }),
  "floor build",
);

const hermes = join(root, "dist", "hermes");
const realistic = join(root, "bench", "fixtures", "realistic");
const cases = [
  { name: "floor (compiled hello world)", cmd: [floor] },
  { name: "hermes --version", cmd: [hermes, "--version"], targetMs: 20, targetMiB: 50 },
  {
    name: "hermes lint config (6 platforms, 20 jobs)",
    cmd: [hermes, "lint", "config", "--home", realistic],
    targetMs: 40,
    targetMiB: 50,
  },
];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const results = [];
for (const c of cases) {
  const raw = must(
    spawnSync("python3", [join(root, "bench", "measure.py"), String(RUNS), String(WARMUP), "--", ...c.cmd], {
      encoding: "utf8",
      env,
    }),
    c.name,
  );
  const samples = JSON.parse(raw);
  const codes = new Set(samples.map((s) => s.code));
  results.push({
    ...c,
    runs: samples.length,
    medianMs: median(samples.map((s) => s.ms)),
    minMs: Math.min(...samples.map((s) => s.ms)),
    medianMiB: median(samples.map((s) => s.rss_kib)) / 1024,
    maxMiB: Math.max(...samples.map((s) => s.rss_kib)) / 1024,
    codes: [...codes],
  });
}

const base = results[0];
const rows = results.map((r) => {
  const okMs = r.targetMs === undefined ? "" : r.medianMs <= r.targetMs ? " ok" : " OVER";
  const okMiB = r.targetMiB === undefined ? "" : r.maxMiB <= r.targetMiB ? " ok" : " OVER";
  return [
    r.name,
    `${r.medianMs.toFixed(1)} ms${r.targetMs ? ` (target ≤ ${r.targetMs}${okMs})` : ""}`,
    `×${(r.medianMs / base.medianMs).toFixed(2)}`,
    `${r.maxMiB.toFixed(1)} MiB max, ${r.medianMiB.toFixed(1)} median${r.targetMiB ? ` (target ≤ ${r.targetMiB}${okMiB})` : ""}`,
    `×${(r.medianMiB / base.medianMiB).toFixed(2)}`,
    `exit ${r.codes.join(",")}`,
  ];
});
const header = ["case", "median time", "vs floor", "peak RSS", "vs floor", ""];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) =>
  cells
    .map((c, i) => c.padEnd(widths[i]))
    .join("  ")
    .trimEnd();
console.log(
  `${RUNS} runs each after ${WARMUP} warm-up runs; ${process.arch}, ${spawnSync("nproc", { encoding: "utf8" }).stdout.trim()} cores`,
);
console.log(line(header));
for (const r of rows) console.log(line(r));
if (process.argv.includes("--json")) console.log(JSON.stringify(results));

// The gateway: readiness, idle memory and message throughput (bench/gateway.mjs).
if (!process.argv.includes("--startup-only")) {
  console.log("");
  const gateway = spawnSync(process.execPath, [join(root, "bench", "gateway.mjs")], {
    stdio: "inherit",
    env,
  });
  if (gateway.status !== 0) throw new Error("the gateway benchmark failed");
  // Telegram: a Bot API burst through the gateway and back, against the webhook path (bench/telegram.mjs).
  console.log("");
  const telegram = spawnSync(process.execPath, [join(root, "bench", "telegram.mjs")], {
    stdio: "inherit",
    env,
  });
  if (telegram.status !== 0) throw new Error("the telegram benchmark failed");
  // Slack: a Socket Mode burst through the gateway and back, against the webhook path, and zombie detection
  // (bench/slack.mjs).
  console.log("");
  const slack = spawnSync(process.execPath, [join(root, "bench", "slack.mjs")], { stdio: "inherit", env });
  if (slack.status !== 0) throw new Error("the slack benchmark failed");
  // The scheduler: firing delay and idle CPU (bench/cron.mjs); it says why when it skips hermes.
  console.log("");
  const cron = spawnSync(process.execPath, [join(root, "bench", "cron.mjs")], { stdio: "inherit", env });
  if (cron.status !== 0) throw new Error("the cron benchmark failed");
  // Discord: a gateway burst through the gateway and back, against the webhook path, and zombie detection
  // (bench/discord.mjs).
  console.log("");
  const discord = spawnSync(process.execPath, [join(root, "bench", "discord.mjs")], {
    stdio: "inherit",
    env,
  });
  if (discord.status !== 0) throw new Error("the discord benchmark failed");
  // Under systemd (bench/systemd.mjs): needs root, and says why when it skips.
  console.log("");
  const systemd = spawnSync(process.execPath, [join(root, "bench", "systemd.mjs")], {
    stdio: "inherit",
    env,
  });
  if (systemd.status !== 0) throw new Error("the systemd benchmark failed");
}
