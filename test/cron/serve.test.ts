/**
 * `hermes cron serve` alone: with no gateway its results wait in cron/spool.journal, and reach the webhook, in
 * order, once a gateway starts. Its control socket answers `GET /admin/cron` and `POST /admin/cron/run`; the
 * gateway standing by refuses to run jobs and names the holder. A job's timeout ends its whole process group.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LIST_KEYS } from "../../src/cron/types.ts";
import { freePort, startGateway, waitFor, waitReady } from "../helpers/gateway.ts";
import { makeHome } from "../helpers/home.ts";
import { alive } from "../helpers/proc.ts";
import { receiver, SECRET } from "../helpers/receiver.ts";

const KEYS = [...LIST_KEYS].sort();

describe("hermes cron serve", () => {
  it("alone, spools its results; a gateway that starts later delivers them, in order, once", async () => {
    const r = await receiver();
    const port = await freePort();
    const home = makeHome({
      config: `gateway:
  http: { listen: "127.0.0.1:${port}" }
  drain_timeout: 1s
platforms:
  webhook: { allow_all: true, home_channel: ops, reply_url: "${r.url}" }
cron:
  jobs:
    - { id: tick, schedule: every 1s, message: hello, deliver: [webhook:ops] }
    - id: hang
      schedule: "0 0 1 1 *"
      timezone: Europe/Berlin
      command: 'sleep 30 & echo $! > grandchild.pid; wait'
      timeout: 1s
`,
      env: `WEBHOOK_SECRET=${SECRET}\n`,
    });
    const serve = startGateway({ home, subcommand: ["cron", "serve"] });
    const cronSock = await waitFor("cron serve's control socket", async () => {
      const res = await serve.control("GET", "/admin/cron");
      return res.status === 200
        ? (res.body as {
            holder: { kind: string; pid: number };
            alive: boolean;
            jobs: Record<string, unknown>[];
          })
        : undefined;
    });
    expect(cronSock.holder).toMatchObject({ kind: "cron-serve", pid: serve.pid });
    expect(cronSock.alive).toBe(true);
    expect(cronSock.jobs.map((j) => Object.keys(j).sort())).toEqual([KEYS, KEYS]);
    expect(cronSock.jobs[1]).toMatchObject({
      id: "hang",
      timezone: "Europe/Berlin",
      source: "config",
      enabled: true,
    });
    expect(Date.parse(String(cronSock.jobs[1]!.next_run_at))).toBeGreaterThan(Date.now());

    // No gateway: the results wait in the spool.
    const spool = join(home, "cron", "spool.journal");
    await waitFor(
      "three results spooled",
      () => existsSync(spool) && readFileSync(spool, "utf8").split("\n").length > 3,
    );
    expect(r.requests).toEqual([]);

    // The job's timeout ends its whole process group (run by hand through cron serve's control socket).
    const run = await serve.control("POST", "/admin/cron/run", { id: "hang" });
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({
      id: "hang",
      status: "timeout",
      error: "timed out after 1 s",
      delivery: "none",
    });
    const grandchild = Number(readFileSync(join(home, "grandchild.pid"), "utf8"));
    await waitFor("the grandchild gone", () => !alive(grandchild), 3000);
    expect((await serve.control("POST", "/admin/cron/run", { id: "nope" })).status).toBe(404);

    const gw = startGateway({ home });
    await waitReady(gw);
    // The gateway stands by: it names the holder and refuses to run jobs.
    const view = (await gw.control("GET", "/admin/cron")).body as { holder: { pid: number }; alive: boolean };
    expect(view).toMatchObject({ alive: false, holder: { pid: serve.pid, kind: "cron-serve" } });
    expect(await gw.control("POST", "/admin/cron/run", { id: "tick" })).toEqual({
      status: 503,
      body: { error: `this process is not the scheduler; the holder is pid ${serve.pid}` },
    });
    const status = (await gw.control("GET", "/status")).body as { cron: Record<string, unknown> };
    expect(status.cron).toMatchObject({
      alive: false,
      jobs: 2,
      holder: { kind: "cron-serve", pid: serve.pid },
    });

    const spooledBefore = readFileSync(spool, "utf8")
      .split("\n")
      .filter((l) => l.includes('"t":"msg"')).length;
    await waitFor(
      "the spooled results and later ones delivered",
      () => r.delivered().length >= spooledBefore + 2,
      10_000,
    );
    const ids = r.delivered().map((d) => d.body.id);
    expect(new Set(ids).size).toBe(ids.length);
    const slots = ids.map((id) => Date.parse(/^cron:tick:(.+):0$/.exec(id)![1]!));
    for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBe(1000);
    // The delivery status follows the gateway's outbox.
    await waitFor("delivered", async () => {
      const jobs = (
        (await serve.control("GET", "/admin/cron")).body as {
          jobs: { id: string; last_delivery_status: string }[];
        }
      ).jobs;
      return jobs.find((j) => j.id === "tick")?.last_delivery_status === "delivered";
    });
    const metrics = (await serve.control("GET", "/metrics")).body as string;
    expect(metrics).toMatch(/^hermes_cron_runs_total\{job="tick",status="ok"\} \d+$/m);
    expect(metrics).toMatch(/^hermes_cron_runs_total\{job="hang",status="timeout"\} 1$/m);
    expect(metrics).toMatch(/^hermes_cron_ticks_total \d+$/m);
    expect(metrics).toMatch(/^hermes_cron_last_tick_timestamp_seconds \d+/m);
    expect(statSync(spool).mode & 0o777).toBe(0o600);

    await serve.control("POST", "/admin/stop");
    expect(await serve.exited).toEqual({ code: 0, signal: null });
  }, 60_000);
});
