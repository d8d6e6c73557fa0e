#!/usr/bin/env node
// Builds dist/hermes (bun --compile: bytecode, ESM, minified, production, no .env/bunfig autoload) and the
// Node bundle dist/hermes.mjs, then runs the binary once: a bytecode build can "succeed" and still produce
// a binary that cannot start, so a build is only good once it has answered --version.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const bun = join(root, "node_modules", ".bin", "bun");
const entry = join(root, "src", "cli", "main.ts");
const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, {
    cwd: root,
    stdio: options.capture ? "pipe" : "inherit",
    encoding: "utf8",
  });
  if (result.status !== 0) {
    if (options.capture) process.stderr.write(result.stderr ?? "");
    throw new Error(`${cmd} ${args.join(" ")} failed with status ${result.status}`);
  }
  return result.stdout;
}

function compile(out, extra = []) {
  run(bun, [join(root, "scripts", "compile.ts"), entry, out, ...extra], { capture: true });
}

function main() {
  mkdirSync(join(root, "dist"), { recursive: true });
  run(process.execPath, [join(root, "scripts", "gen-pages.mjs")]);
  run(process.execPath, [join(root, "scripts", "gen-templates.mjs")]);
  const target = process.argv.filter((a) => a.startsWith("--target="));
  const binary = join(root, "dist", "hermes");
  compile(binary, target);
  // Record which code the common commands run, then lay the bytecode out in that order (less memory, faster
  // start). Only for the host's own target: a cross-compiled binary cannot be run here to record it.
  if (target.length === 0) {
    const profiles = [];
    for (const [name, args] of [
      ["lint", ["lint", "config", "--home", join(root, "bench", "fixtures", "realistic")]],
      ["version", ["--version"]],
    ]) {
      const file = join(tmpdir(), `hermes-bytecode-order-${process.pid}-${name}`);
      spawnSync(binary, args, { env: { ...process.env, BUN_BYTECODE_ORDER_OUT: file }, stdio: "ignore" });
      if (existsSync(file)) profiles.push(file);
    }
    if (profiles.length > 0) compile(binary, [`--order=${profiles.join(",")}`]);
    for (const file of profiles) rmSync(file, { force: true });
  }
  run(
    bun,
    [
      "build",
      entry,
      "--target=node",
      "--format=esm",
      "--minify",
      "--production",
      "--outfile",
      join(root, "dist", "hermes.mjs"),
    ],
    {
      capture: true,
    },
  );
  const said = run(binary, ["--version"], { capture: true }).trim();
  if (said !== `hermes ${version}`)
    throw new Error(`dist/hermes --version printed "${said}", expected "hermes ${version}"`);
  const viaNode = run(process.execPath, [join(root, "dist", "hermes.mjs"), "--version"], {
    capture: true,
  }).trim();
  if (viaNode !== said) throw new Error(`dist/hermes.mjs --version printed "${viaNode}"`);
  console.log(`built dist/hermes and dist/hermes.mjs (${said})`);
}

main();
