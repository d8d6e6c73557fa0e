/** Starting real gateway processes for tests: the compiled binary, or the harness with test platforms (bun). */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach } from "vitest";
import { controlRequest } from "../../src/gateway/control.ts";
import { BINARY, cleanEnv, ROOT } from "./cli.ts";
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
