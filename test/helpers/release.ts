/**
 * A release tree with the exact layout of SPEC §9 (written by scripts/release-tree.ts, as `npm run release`
 * writes it), for the host target only, served from a loopback HTTP server. Three versions:
 * - 0.1.0: dist/hermes itself, the real build;
 * - 0.2.0: the same source compiled again with the version baked in as 0.2.0 (a real gateway), the latest;
 * - 0.3.0: a stand-in, not hermes: a shell script that answers `--version` with "hermes 0.3.0" (so it passes
 *   the trial run) and exits 78 for anything else, as a release whose gateway cannot start would.
 * No vitest import: plain helpers.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { serveStatic } from "@hono/node-server/serve-static";
import { Hono } from "hono";
import { writeTop, writeVersion } from "../../scripts/release-tree.ts";
import { BINARY, ROOT } from "./cli.ts";

export const HOST_TARGET = "linux-x64";
export const OLD = "0.1.0";
export const NEW = "0.2.0";
export const BROKEN = "0.3.0";

export const BROKEN_STAND_IN = `#!/bin/sh
# Stand-in for a broken hermes ${BROKEN}: answers --version, and exits 78 (configuration unusable) as the gateway.
case "$1" in
  --version) echo "hermes ${BROKEN}" ;;
  *) echo "hermes ${BROKEN} stand-in: this release cannot start (exit 78)" >&2; exit 78 ;;
esac
`;

export interface ReleaseTree {
  dir: string;
  remove(): void;
}

/**
 * Builds the tree in a temp dir (a few seconds: one compile, gzip level 1). With `baseUrl`, the release site
 * is baked in as a release bakes it: into install.sh and into the 0.2.0 binary.
 */
export function buildReleaseTree(options: { dir?: string; baseUrl?: string } = {}): ReleaseTree {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "hermes-release-tree-"));
  const scratch = mkdtempSync(join(tmpdir(), "hermes-release-bin-"));
  try {
    const next = join(scratch, `hermes-${NEW}`);
    const compile = spawnSync(
      join(ROOT, "node_modules", ".bin", "bun"),
      [
        join(ROOT, "scripts", "compile.ts"),
        join(ROOT, "src", "cli", "main.ts"),
        next,
        `--version=${NEW}`,
        ...(options.baseUrl ? [`--base-url=${options.baseUrl}`] : []),
      ],
      { cwd: ROOT, encoding: "utf8", timeout: 120_000 },
    );
    if (compile.status !== 0) throw new Error(`compiling hermes ${NEW} failed: ${compile.stderr}`);
    const broken = join(scratch, `hermes-${BROKEN}`);
    writeFileSync(broken, BROKEN_STAND_IN, { mode: 0o755 });
    writeVersion({ out: dir, version: OLD, binaries: { [HOST_TARGET]: BINARY }, level: 1 });
    writeVersion({ out: dir, version: NEW, binaries: { [HOST_TARGET]: next }, level: 1 });
    writeVersion({ out: dir, version: BROKEN, binaries: { [HOST_TARGET]: broken }, level: 1 });
    writeTop({ out: dir, latest: NEW, baseUrl: options.baseUrl });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The tree served from loopback, with the server's URL baked in as the release site. */
export async function servedRelease(): Promise<{ tree: ReleaseTree; server: ReleaseServer }> {
  const dir = mkdtempSync(join(tmpdir(), "hermes-release-tree-"));
  const server = await serveRelease(dir);
  try {
    return { tree: buildReleaseTree({ dir, baseUrl: server.url }), server };
  } catch (error) {
    await server.close();
    throw error;
  }
}

export interface ReleaseServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Answer `path` (e.g. "/0.2.0/SHA256SUMS") with these bytes, or 404, instead of the file. */
  override(path: string, body: Uint8Array | string | 404): void;
  clearOverrides(): void;
  /** Paths requested so far. */
  requests: string[];
  close(): Promise<void>;
}

/** Serves `dir` on 127.0.0.1 (a free port). */
export async function serveRelease(dir: string): Promise<ReleaseServer> {
  const overrides = new Map<string, Uint8Array | string | 404>();
  const requests: string[] = [];
  const app = new Hono();
  app.use("*", async (c, next) => {
    requests.push(c.req.path);
    const o = overrides.get(c.req.path);
    if (o === 404) return c.text("not found", 404);
    if (o !== undefined) return c.body(typeof o === "string" ? o : new Uint8Array(o));
    await next();
  });
  app.use("*", serveStatic({ root: dir }));
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    override: (path, body) => overrides.set(path, body),
    clearOverrides: () => overrides.clear(),
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

/** A `.gz` of the tree with one byte flipped in the middle: still the right size, wrong content. */
export function tampered(dir: string, version: string, target = HOST_TARGET): Buffer {
  const gz = readFileSync(join(dir, version, `hermes-${target}.gz`));
  const copy = Buffer.from(gz);
  const at = Math.floor(copy.length / 2);
  copy[at] = copy[at]! ^ 0xff;
  return copy;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs a command without blocking the event loop (the release server answers from this process), with a
 * bound on its life.
 */
export function runAsync(
  cmd: string,
  args: string[],
  options: { env: Record<string, string>; input?: string | Buffer; timeoutMs?: number; cwd?: string },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(cmd, args, { env: options.env, cwd: options.cwd ?? tmpdir() });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const timeoutMs = options.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} ${args.join(" ")} did not finish within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");
  });
}
