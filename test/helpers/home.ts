/** Temporary HERMES_HOME directories with a config.yaml and a .env, removed after each test. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";

const made: string[] = [];

afterEach(() => {
  for (const dir of made.splice(0)) {
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
