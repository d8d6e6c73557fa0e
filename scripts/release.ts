/**
 * `npm run release [-- --base-url URL] [--targets linux-x64,…] [--out DIR]` (run by Bun): compiles hermes for
 * every target of SPEC §9, writes the release tree (scripts/release-tree.ts), then smoke-runs every artifact
 * this machine can run: the x64 builds directly, arm64 under qemu-user, musl where a musl loader exists. A
 * build that is not run is named as such in the summary; one that is run and fails stops the release.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gunzipSync } from "node:zlib";
import {
  type Artifact,
  bakeInstaller,
  INSTALLER_SOURCE,
  TARGETS,
  writeTop,
  writeVersion,
} from "./release-tree.ts";

const root = join(import.meta.dir, "..");
const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
interface Options {
  baseUrl: string | undefined;
  targets: string[];
  out: string;
}

/** The options, or the one sentence that says what is wrong with them. */
function options(): Options | { problem: string } {
  let values: { "base-url"?: string; targets?: string; out: string };
  try {
    ({ values } = parseArgs({
      options: {
        "base-url": { type: "string" },
        targets: { type: "string" },
        out: { type: "string", default: join(root, "dist", "release") },
      },
    }));
  } catch (error) {
    return { problem: (error as Error).message };
  }
  const targets = values.targets ? values.targets.split(",").filter(Boolean) : [...TARGETS];
  const unknown = targets.find((t) => !(TARGETS as readonly string[]).includes(t));
  if (unknown !== undefined)
    return { problem: `--targets: "${unknown}" is not a release target (${TARGETS.join(", ")})` };
  const baseUrl = values["base-url"];
  try {
    if (baseUrl !== undefined) bakeInstaller(readFileSync(INSTALLER_SOURCE, "utf8"), baseUrl);
  } catch (error) {
    return { problem: (error as Error).message };
  }
  return { baseUrl, targets, out: values.out };
}
const parsed = options();
const {
  baseUrl,
  targets,
  out: outDir,
} = "problem" in parsed ? { baseUrl: undefined, targets: [], out: "" } : parsed;

function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(cmd, args, {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 300_000,
  });
}

function must(cmd: string, args: string[]): void {
  const r = run(cmd, args);
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.error?.message}): ${r.stderr}`);
}

const hostTarget = process.platform === "linux" && process.arch === "x64";

/** How this machine can run a target's binary: the command prefix, or why it cannot. */
function runner(target: string): { prefix: string[] } | { skip: string } {
  if (target.startsWith("darwin-")) return { skip: "a macOS binary does not run on Linux" };
  if (!hostTarget) return { skip: "smoke runs are set up for a linux-x64 host" };
  const arm = target.startsWith("linux-arm64");
  const musl = target.endsWith("-musl");
  const loader = arm
    ? musl
      ? "/lib/ld-musl-aarch64.so.1"
      : "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1"
    : "/lib/ld-musl-x86_64.so.1";
  if (musl && !existsSync(loader))
    return { skip: `no musl loader here (${loader}); run it in an Alpine container with libstdc++ libgcc` };
  if (!arm) return { prefix: [] };
  const qemu = ["qemu-aarch64-static", "qemu-aarch64"].find((q) => run(q, ["--version"]).status === 0);
  if (!qemu) return { skip: "qemu-user is not installed (Debian: qemu-user)" };
  if (!existsSync(loader))
    return { skip: `no arm64 C library for qemu (${loader}; Debian: libc6-arm64-cross)` };
  return { prefix: [qemu, "-L", musl ? "/" : "/usr/aarch64-linux-gnu"] };
}

/** Bytecode laid out in the order the common commands run it (as scripts/build.mjs does for dist/hermes). */
function recordOrder(binary: string): string[] {
  const profiles: string[] = [];
  for (const [name, args] of [
    ["lint", ["lint", "config", "--home", join(root, "bench", "fixtures", "realistic")]],
    ["version", ["--version"]],
  ] as const) {
    const file = join(tmpdir(), `hermes-release-order-${process.pid}-${name}`);
    run(binary, [...args], { BUN_BYTECODE_ORDER_OUT: file });
    if (existsSync(file)) profiles.push(file);
  }
  return profiles;
}

function main(): void {
  // Regenerated only when stale: rewriting an unchanged file would race a build reading it.
  for (const gen of ["gen-pages.mjs", "gen-templates.mjs"]) {
    const script = join(root, "scripts", gen);
    if (run(process.execPath, [script, "--check"]).status !== 0) must(process.execPath, [script]);
  }
  const build = mkdtempSync(join(tmpdir(), "hermes-release-"));
  try {
    const binaries: Record<string, string> = {};
    for (const target of targets) {
      const out = join(build, `hermes-${target}`);
      const compile = [
        join(root, "scripts", "compile.ts"),
        join(root, "src", "cli", "main.ts"),
        out,
        `--target=bun-${target}`,
        ...(baseUrl ? [`--base-url=${baseUrl}`] : []),
      ];
      console.error(`compiling ${target}…`);
      must(process.execPath, compile);
      if (hostTarget && (target === "linux-x64" || target === "linux-x64-baseline")) {
        const profiles = recordOrder(out);
        if (profiles.length > 0) must(process.execPath, [...compile, `--order=${profiles.join(",")}`]);
        for (const f of profiles) rmSync(f, { force: true });
      }
      binaries[target] = out;
    }
    rmSync(join(outDir, version), { recursive: true, force: true });
    const artifacts = writeVersion({ out: outDir, version, binaries });
    writeTop({ out: outDir, latest: version, baseUrl });
    const failures = smoke(artifacts, build);
    if (!baseUrl)
      console.error(
        "note: no --base-url: install.sh and the binaries know no release site; users must set HERMES_INSTALL_BASE_URL",
      );
    if (failures > 0) {
      console.error(`${failures} artifact(s) failed their smoke run`);
      process.exitCode = 1;
    }
  } finally {
    rmSync(build, { recursive: true, force: true });
  }
}

/** Unpacks each `.gz` as a user would and asks it for its version; prints sizes and results. */
function smoke(artifacts: Artifact[], scratch: string): number {
  let failures = 0;
  const rows: string[][] = [["artifact", "binary bytes", "gz bytes", "smoke run"]];
  for (const a of artifacts) {
    const how = runner(a.target);
    let result: string;
    if ("skip" in how) result = `not run: ${how.skip}`;
    else {
      const bin = join(scratch, `smoke-${a.target}`);
      writeFileSync(bin, gunzipSync(readFileSync(a.path)), { mode: 0o755 });
      const [cmd, ...pre] = [...how.prefix, bin];
      const r = run(cmd!, [...pre, "--version"]);
      const said = (r.stdout ?? "").trim();
      if (r.status === 0 && said === `hermes ${version}`)
        result = `ok: "${said}"${how.prefix.length ? ` (${how.prefix[0]})` : ""}`;
      else {
        failures++;
        result = `FAILED: exit ${r.status}, ${JSON.stringify(said || r.stderr?.trim().slice(0, 200))}`;
      }
    }
    rows.push([`hermes-${a.target}.gz`, String(a.rawBytes), String(a.gzBytes), result]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => (i === 3 ? c : c.padEnd(widths[i]!))).join("  "));
  console.log(`wrote ${outDir}/latest.txt (${version}), ${outDir}/${version}/, ${outDir}/install.sh`);
  return failures;
}

if ("problem" in parsed) {
  console.error(parsed.problem);
  process.exitCode = 2;
} else {
  mkdirSync(outDir, { recursive: true });
  main();
}
