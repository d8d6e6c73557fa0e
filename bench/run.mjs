#!/usr/bin/env node
// npm run bench: start-up time and peak memory of the compiled binary, against a compiled hello-world built
// in the same run with the same flags (the floor). Medians of RUNS runs after WARMUP warm-up runs, with
// NODE_EXTRA_CA_CERTS unset (it makes every start parse the whole CA bundle).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { printTable } from "./lib/table.mjs";

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
console.log(
  `${RUNS} runs each after ${WARMUP} warm-up runs; ${process.arch}, ${spawnSync("nproc", { encoding: "utf8" }).stdout.trim()} cores`,
);
printTable(header, rows);
if (process.argv.includes("--json")) console.log(JSON.stringify(results));

// Each further benchmark runs in its own process, after a blank line; a failed one stops the run.
function runBench(file, name) {
  console.log("");
  const run = spawnSync(process.execPath, [join(root, "bench", file)], { stdio: "inherit", env });
  if (run.status !== 0) throw new Error(`the ${name} benchmark failed`);
}

if (!process.argv.includes("--startup-only")) {
  // The gateway: readiness, idle memory and message throughput.
  runBench("gateway.mjs", "gateway");
  // Telegram: a Bot API burst through the gateway and back, against the webhook path.
  runBench("telegram.mjs", "telegram");
  // Slack: a Socket Mode burst through the gateway and back, against the webhook path, and zombie detection.
  runBench("slack.mjs", "slack");
  // The scheduler: firing delay and idle CPU; it says why when it skips hermes.
  runBench("cron.mjs", "cron");
  // Discord: a gateway burst through the gateway and back, against the webhook path, and zombie detection.
  runBench("discord.mjs", "discord");
  // Under systemd: needs root, and says why when it skips.
  runBench("systemd.mjs", "systemd");
}
