/**
 * The seed of issue 6: a gateway with one platform whose token is gone (discord) and the webhook platform working,
 * a job every 2 s: for 30 s it fires at every slot, once, and its messages arrive at the webhook's reply_url,
 * while the broken platform reports its reason and the scheduler reports itself alive.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort, startGateway, waitFor, waitReady } from "../helpers/gateway.ts";
import { makeHome } from "../helpers/home.ts";
import { receiver, SECRET } from "../helpers/receiver.ts";

const WINDOW_MS = 30_000;

describe("the seed", () => {
  it("a job every 2 s fires at every slot for 30 s, delivered to the webhook, while discord has no token", async () => {
    const r = await receiver();
    const port = await freePort();
    const home = makeHome({
      config: `gateway:
  http: { listen: "127.0.0.1:${port}" }
platforms:
  webhook: { allow_all: true, home_channel: ops, reply_url: "${r.url}" }
  discord: { allowed_users: [1] }
cron:
  jobs:
    - id: seed
      schedule: every 2s
      message: tick
      deliver: [webhook:ops]
`,
      env: `WEBHOOK_SECRET=${SECRET}\n`,
    });
    const gw = startGateway({ home });
    await waitReady(gw);
    const t0 = Date.now();
    const observed: { discord: string; reason: string | null; alive: boolean; holder: string | null }[] = [];
    while (Date.now() - t0 < WINDOW_MS) {
      const s = (await gw.control("GET", "/status")).body as {
        platforms: Record<string, { state: string; reason: string | null }>;
        cron: { alive: boolean; holder: { kind: string } | null; jobs: number; next_run_at: string | null };
      };
      observed.push({
        discord: s.platforms.discord!.state,
        reason: s.platforms.discord!.reason,
        alive: s.cron.alive,
        holder: s.cron.holder?.kind ?? null,
      });
      expect(s.cron.jobs).toBe(1);
      expect(Date.parse(s.cron.next_run_at ?? "")).toBeGreaterThan(Date.now() - 1000);
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
    const end = Date.now();
    // The slot just before the end is delivered too.
    await waitFor("the last slot's message", () =>
      r.delivered().some((d) => Date.parse(/^cron:seed:(.+):0$/.exec(d.body.id)?.[1] ?? "") >= end - 2000),
    );
    expect(observed.length).toBeGreaterThanOrEqual(9);
    for (const o of observed) {
      expect(o).toMatchObject({ discord: "disabled", alive: true, holder: "gateway" });
      expect(o.reason).toMatch(/^missing-token: /);
    }

    const delivered = r.delivered();
    const ids = delivered.map((d) => d.body.id);
    expect(new Set(ids).size).toBe(ids.length); // none twice
    for (const d of delivered)
      expect(d).toMatchObject({ signatureOk: true, body: { chat_id: "ops", text: "tick" } });
    const slots = ids.map((id) => Date.parse(/^cron:seed:(.+):0$/.exec(id)![1]!)).sort((a, b) => a - b);
    // Consecutive: every slot from the first to the last, none missing.
    for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBe(2000);
    expect(slots[0]!).toBeLessThanOrEqual(t0 + 2000);
    expect(slots[slots.length - 1]!).toBeGreaterThanOrEqual(end - 2000);
    expect(slots.length).toBeGreaterThanOrEqual(WINDOW_MS / 2000);

    const metrics = (await gw.control("GET", "/metrics")).body as string;
    const runs = Number(/^hermes_cron_runs_total\{job="seed",status="ok"\} (\d+)$/m.exec(metrics)?.[1]);
    expect(runs).toBeGreaterThanOrEqual(slots.length);
    expect(metrics).toMatch(/^hermes_cron_ticks_total \d+$/m);
    expect(metrics).toMatch(/^hermes_cron_last_tick_timestamp_seconds \d+/m);
    const state = JSON.parse(readFileSync(join(home, "cron", "state.json"), "utf8"));
    expect(state.jobs.seed).toMatchObject({ missed_runs: 0, last_status: "ok", running: null });
  }, 60_000);
});
