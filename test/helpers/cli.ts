/** Runs hermes as users do: the compiled binary, the Node bundle, or the source under Deno. */
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");
export const BINARY = join(ROOT, "dist", "hermes");
export const NODE_BUNDLE = join(ROOT, "dist", "hermes.mjs");
export const DENO = join(ROOT, "node_modules", ".bin", "deno");

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export type Runtime = "binary" | "node" | "deno";

/** A clean environment: nothing of the developer's HERMES_HOME, tokens or colour settings leaks in. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const keep = ["PATH", "HOME", "TMPDIR", "LANG", "TZ"];
  const env: Record<string, string> = {};
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  return { ...env, ...extra };
}

/** The command that runs hermes on `runtime`: the compiled binary, the Node bundle, or the source on Deno. */
function command(runtime: Runtime): [string, string[]] {
  return runtime === "binary"
    ? [BINARY, []]
    : runtime === "node"
      ? [process.execPath, [NODE_BUNDLE]]
      : [DENO, ["run", "--quiet", "-A", join(ROOT, "src", "cli", "main.ts")]];
}

export function hermes(
  args: string[],
  options: { env?: Record<string, string>; runtime?: Runtime; cwd?: string; input?: string } = {},
): Run {
  const [cmd, pre] = command(options.runtime ?? "binary");
  const result = spawnSync(cmd, [...pre, ...args], {
    env: options.env ?? cleanEnv(),
    cwd: options.cwd ?? ROOT,
    encoding: "utf8",
    input: options.input,
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Like `hermes()`, without blocking this process's event loop (for tests that serve the command themselves). */
export function hermesAsync(
  args: string[],
  options: { env?: Record<string, string>; runtime?: Runtime } = {},
): Promise<Run> {
  const [cmd, pre] = command(options.runtime ?? "binary");
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...pre, ...args], { env: options.env ?? cleanEnv(), cwd: ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** `hermes lint config --format json` for a home, parsed. */
export function lintJson(home: string, extraArgs: string[] = [], runtime: Runtime = "binary") {
  const run = hermes(["lint", "config", "--home", home, "--format", "json", ...extraArgs], { runtime });
  return { ...run, report: JSON.parse(run.stdout) as LintReport };
}

export interface LintReport {
  version: number;
  summary: { errors: number; warnings: number; infos: number };
  diagnostics: {
    rule: string;
    severity: string;
    message: string;
    hint: string | null;
    file: string | null;
    path: string | null;
    line: number | null;
    column: number | null;
  }[];
}
