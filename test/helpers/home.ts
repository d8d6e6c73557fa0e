/** Temporary HERMES_HOME directories with a config.yaml and a .env, removed after each test. */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";

const made: string[] = [];

/**
 * Ends every process still running for `dir` (its command line names it): a gateway a test started, or the
 * replacement an unsupervised restart started on its own, which no test holds a handle to.
 */
export function killProcessesOf(dir: string): void {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return; // no procfs: nothing to find this way
  }
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (argv.some((arg) => arg === dir || arg.startsWith(`${dir}/`))) process.kill(Number(pid), "SIGKILL");
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
}

afterEach(() => {
  for (const dir of made.splice(0)) {
    killProcessesOf(dir);
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    } catch {
      // a process of a failed test may still be writing there; it is a temp dir
    }
  }
});

export interface HomeFiles {
  config?: string;
  env?: string;
  /** `cron/jobs.json`, the jobs `hermes cron add` manages. */
  jobs?: string;
  /** Modes (default 0600 for both). */
  configMode?: number;
  envMode?: number;
}

export function makeHome(files: HomeFiles = {}): string {
  const home = mkdtempSync(join(tmpdir(), "hermes-test-"));
  made.push(home);
  chmodSync(home, 0o700);
  if (files.config !== undefined) {
    writeFileSync(join(home, "config.yaml"), files.config);
    chmodSync(join(home, "config.yaml"), files.configMode ?? 0o600);
  }
  if (files.env !== undefined) {
    writeFileSync(join(home, ".env"), files.env);
    chmodSync(join(home, ".env"), files.envMode ?? 0o600);
  }
  if (files.jobs !== undefined) {
    mkdirSync(join(home, "cron"), { mode: 0o700 });
    writeFileSync(join(home, "cron", "jobs.json"), files.jobs, { mode: 0o600 });
  }
  return home;
}

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hermes-test-"));
  made.push(dir);
  return dir;
}

export function writeFile(dir: string, name: string, text: string | Uint8Array, mode = 0o600): string {
  const path = join(dir, name);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}
