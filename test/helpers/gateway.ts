/** Starting real gateway processes for tests: the compiled binary, or the harness with test platforms (bun). */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach } from "vitest";
import { controlRequest } from "../../src/gateway/control.ts";
import { BINARY, cleanEnv, ROOT } from "./cli.ts";
import { makeHome } from "./home.ts";
import { freePort, waitFor } from "./wait.ts";

export { freePort, waitFor };

const BUN = join(ROOT, "node_modules", ".bin", "bun");
const HARNESS = join(ROOT, "test", "gateway", "harness.ts");
const running = new Set<ChildProcess>();

afterEach(() => {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
});

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface GatewayProcess {
  child: ChildProcess;
  pid: number;
  home: string;
  /** Every log line so far (JSON records). */
  logs: Record<string, unknown>[];
  stderr: string[];
  exited: Promise<Exit>;
  exit: Exit | undefined;
  control(method: "GET" | "POST", path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
}

export function startGateway(options: {
  home: string;
  args?: string[];
  env?: Record<string, string>;
  harness?: boolean;
  /** Runs `command[0] ...command[1] gateway run …` instead of the binary (another runtime, a wrapper). */
  command?: [string, string[]];
  /** Another long-running command than `gateway run` (`cron serve`: its control socket is run/cron.sock). */
  subcommand?: string[];
}): GatewayProcess {
  const subcommand = options.subcommand ?? ["gateway", "run"];
  const args = [...subcommand, "--home", options.home, ...(options.args ?? [])];
  const socket = join(options.home, "run", subcommand[0] === "cron" ? "cron.sock" : "gateway.sock");
  const [cmd, pre] = options.command ?? (options.harness ? [BUN, [HARNESS]] : [BINARY, []]);
  const child = spawn(cmd, [...pre, ...args], {
    env: cleanEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  const gw: GatewayProcess = {
    child,
    pid: child.pid!,
    home: options.home,
    logs: [],
    stderr: [],
    exit: undefined,
    exited: new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        running.delete(child);
        gw.exit = { code, signal };
        resolve(gw.exit);
      });
    }),
    control: (method, path, body?: unknown) => controlRequest(socket, method, path, 5000, body),
  };
  let buffer = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("utf8");
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        gw.logs.push(JSON.parse(line));
      } catch {
        gw.logs.push({ raw: line });
      }
      nl = buffer.indexOf("\n");
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => gw.stderr.push(chunk.toString("utf8")));
  return gw;
}

export interface Status {
  pid: number;
  state: string;
  platforms: Record<
    string,
    {
      state: string;
      reason: string | null;
      attempts: number;
      reconnects: number;
      next_retry_at: string | null;
    }
  >;
  outbox: { pending: number; dead: number };
}

export async function status(gw: GatewayProcess): Promise<Status> {
  const response = await gw.control("GET", "/status");
  if (response.status !== 200) throw new Error(`status ${response.status}`);
  return response.body as Status;
}

export function waitReady(gw: GatewayProcess, timeoutMs = 10_000): Promise<Status> {
  return waitFor(
    "the gateway to be up",
    async () => {
      if (gw.exit) throw new Error(`the gateway exited ${JSON.stringify(gw.exit)}: ${gw.stderr.join("")}`);
      const s = await status(gw);
      return s.state === "running" || s.state === "degraded" ? s : undefined;
    },
    timeoutMs,
  );
}

/** Reads a value of /proc/<pid>/status (VmRSS in KiB) and the number of open file descriptors. */
export function processResources(pid: number): { rssKiB: number; fds: number } {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  return { rssKiB, fds };
}

/**
 * Starts the compiled binary on a fresh home whose HTTP API listens on a free loopback port, and waits until
 * it is up. `platforms` is the YAML under `platforms:` (given the port when it must name it), `gateway` more
 * lines under `gateway:`, `env` the home's .env and `processEnv` the process's extra variables.
 */
export async function startGatewayHome(options: {
  platforms: string | ((port: number) => string);
  env: string;
  gateway?: string;
  processEnv?: Record<string, string>;
}): Promise<{ gw: GatewayProcess; home: string; port: number }> {
  const port = await freePort();
  const platforms = typeof options.platforms === "string" ? options.platforms : options.platforms(port);
  const home = makeHome({
    config: `gateway:\n  http: { listen: "127.0.0.1:${port}" }\n${options.gateway ?? ""}platforms:\n${platforms}`,
    env: options.env,
  });
  const gw = startGateway({ home, ...(options.processEnv ? { env: options.processEnv } : {}) });
  await waitReady(gw);
  return { gw, home, port };
}

/** The status of platform `name` in the gateway's /status. */
export async function platformStatus(
  gw: GatewayProcess,
  name: string,
): Promise<Status["platforms"][string] | undefined> {
  return (await status(gw)).platforms[name];
}

/**
 * Everything the process said or wrote, for searching for secrets: log lines, stderr, its status, and every
 * file under the home's logs/ and state/.
 */
export async function capturedOutput(gw: GatewayProcess): Promise<string> {
  const parts = [
    JSON.stringify(gw.logs),
    gw.stderr.join(""),
    JSON.stringify(await status(gw).catch(() => "")),
  ];
  for (const dir of ["logs", "state"]) {
    for (const f of readdirSync(join(gw.home, dir), { recursive: true, withFileTypes: true })) {
      if (f.isFile()) parts.push(readFileSync(join(f.parentPath, f.name), "latin1"));
    }
  }
  return parts.join("\n");
}
