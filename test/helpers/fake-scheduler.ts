/**
 * A stand-in for a scheduler's control socket, speaking the contract of SPEC §7 (`GET /admin/cron`,
 * `POST /admin/cron/run`), so the `hermes cron` commands can be tested before and apart from the engine.
 */
import { mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { afterEach } from "vitest";

export interface FakeView {
  holder: { pid: number; kind: "gateway" | "cron-serve"; since: string } | null;
  alive: boolean;
  last_tick_at: string | null;
  jobs: Record<string, unknown>[];
}

export interface FakeScheduler {
  socket: string;
  /** Bodies of every `POST /admin/cron/run`. */
  runs: unknown[];
  close(): Promise<void>;
}

const open = new Set<Server>();

afterEach(async () => {
  await Promise.all([...open].map((s) => new Promise((resolve) => s.close(resolve))));
  open.clear();
});

/**
 * Listens on `run/<name>` of `home`. `run` answers a run request: a status and a body (the contract's 200
 * result, 404 for an unknown id, 409 for a running job, 503 from a standby).
 */
export async function fakeScheduler(
  home: string,
  options: {
    name?: "gateway.sock" | "cron.sock";
    view: FakeView;
    run?: (id: string) => { status: number; body: unknown };
  },
): Promise<FakeScheduler> {
  mkdirSync(join(home, "run"), { recursive: true, mode: 0o700 });
  const socket = join(home, "run", options.name ?? "gateway.sock");
  const runs: unknown[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.method === "GET" && req.url === "/admin/cron") return reply(200, options.view);
      if (req.method === "POST" && req.url === "/admin/cron/run") {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as { id: string };
        runs.push(body);
        const answer = options.run?.(body.id) ?? { status: 404, body: { error: `no job "${body.id}"` } };
        return reply(answer.status, answer.body);
      }
      reply(404, { error: "not found" });
    });
  });
  open.add(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socket, resolve);
  });
  return {
    socket,
    runs,
    close: () =>
      new Promise((resolve) => {
        open.delete(server);
        server.close(() => resolve());
      }),
  };
}

/** A `cron list --json` entry with the contract's keys. */
export function listEntry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "backup",
    schedule: "0 3 * * *",
    timezone: "Europe/Berlin",
    enabled: true,
    next_run_at: "2099-01-02T02:00:00.000Z",
    last_run_at: "2099-01-01T02:00:00.000Z",
    last_status: "ok",
    last_error: null,
    last_delivery_status: "delivered",
    missed_runs: 0,
    source: "config",
    ...overrides,
  };
}
