/**
 * One scheduler per HERMES_HOME: two `hermes cron serve` and a gateway started together, exactly one holds the
 * scheduler lock and fires; kill -9 the holder and another takes over within 10 s; no slot fires twice, and none
 * is skipped silently (what passed while no one held the lock is counted in missed_runs).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CronStateFile } from "../../src/cron/types.ts";
import { freePort, type GatewayProcess, startGateway, waitFor, waitReady } from "../helpers/gateway.ts";
import { makeHome } from "../helpers/home.ts";
import { receiver, SECRET } from "../helpers/receiver.ts";

const lockHolder = (home: string): { pid: number; kind: string } | undefined => {
  try {
    return JSON.parse(readFileSync(join(home, "run", "cron.lock"), "utf8"));
  } catch {
    return undefined;
  }
};

/** Every run appends its slot to fired.log before it prints it (the printed slot is the result delivered). */
const JOB = 'echo "$HERMES_JOB_SLOT" >> fired.log; echo "$HERMES_JOB_SLOT"';

function fired(home: string): string[] {
  try {
    return readFileSync(join(home, "fired.log"), "utf8").trim().split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

const events = (p: GatewayProcess, event: string) =>
  (p.logs as { event?: string; msg?: string; slot?: string }[]).filter((r) => r.event === event);

describe("the scheduler lock", () => {
  // Started together, whoever wins; and once more with the gateway holding first, so that the one killed is the
  // gateway and a cron serve takes over (its results wait in its spool until the gateway is back).
  it.each([
    ["started together", false],
    ["the gateway holding first", true],
  ])(
    "two cron serve and a gateway (%s): one fires; kill -9 it, another takes over within 10 s; no slot twice",
    async (_name, gatewayFirst) => {
      const r = await receiver();
      const port = await freePort();
      const home = makeHome({
        config: `gateway:
  http: { listen: "127.0.0.1:${port}" }
platforms:
  webhook: { allow_all: true, home_channel: ops, reply_url: "${r.url}" }
cron:
  jobs:
    - { id: beat, schedule: every 1s, command: '${JOB}', deliver: [webhook:ops] }
`,
        env: `WEBHOOK_SECRET=${SECRET}\n`,
      });
      const gateway = startGateway({ home });
      if (gatewayFirst)
        await waitFor("the gateway to hold the lock", () => events(gateway, "cron.holder").length > 0);
      const serveA = startGateway({ home, subcommand: ["cron", "serve"] });
      const serveB = startGateway({ home, subcommand: ["cron", "serve"] });
      const all = [serveA, gateway, serveB];
      await waitReady(gateway);
      await waitFor("a few slots fired", () => fired(home).length >= 3);
      // Exactly one holds the lock: the one the lock file names; the others stand by and say so.
      await waitFor("everyone's role in the log", () =>
        all.every((p) => events(p, "cron.holder").length + events(p, "cron.standby").length > 0),
      );
      const holders = all.filter((p) => events(p, "cron.holder").length > 0);
      expect(holders).toHaveLength(1);
      const holder = holders[0]!;
      if (gatewayFirst) expect(holder).toBe(gateway);
      expect(lockHolder(home)?.pid).toBe(holder.pid);
      for (const p of all) if (p !== holder) expect(events(p, "cron.standby")).toHaveLength(1);

      holder.child.kill("SIGKILL");
      await holder.exited;
      const killedAt = Date.now();
      const survivors = all.filter((p) => p !== holder);
      const next = await waitFor(
        "another scheduler to take over",
        () => survivors.find((p) => events(p, "cron.holder").some((e) => /took over/.test(e.msg ?? ""))),
        10_000,
      );
      expect(lockHolder(home)?.pid).toBe(next.pid);
      // A gateway must run for the results to reach the webhook: start it again if it was the one killed.
      const deliveringGateway = holder === gateway ? startGateway({ home }) : gateway;
      await waitReady(deliveringGateway);
      await waitFor("slots fired after the takeover", () =>
        fired(home).some((s) => Date.parse(s) > killedAt + 2000),
      );

      const slots = fired(home);
      // No slot fired twice.
      expect(new Set(slots).size).toBe(slots.length);
      // None skipped silently: every gap between fired slots was counted as missed (or was the slot the dead holder
      // had started: then it is an interrupted run, recorded as such).
      const times = slots.map(Date.parse).sort((a, b) => a - b);
      let gaps = 0;
      for (let i = 1; i < times.length; i++) gaps += (times[i]! - times[i - 1]!) / 1000 - 1;
      const state = JSON.parse(readFileSync(join(home, "cron", "state.json"), "utf8")) as CronStateFile;
      const interruptedUnstarted = events(next, "cron.interrupted").filter(
        (e) => !slots.includes(e.slot ?? ""),
      ).length;
      expect(gaps).toBe(state.jobs.beat!.missed_runs + interruptedUnstarted);
      // Every fired slot's result reaches the webhook (once per id; a redelivery after a kill keeps its id).
      await waitFor("every result delivered", () => {
        const ids = new Set(r.delivered().map((d) => d.body.id));
        return slots.every(
          (s) => ids.has(`cron:beat:${s}:0`) || s === events(next, "cron.interrupted")[0]?.slot,
        );
      });
      for (const d of r.delivered()) expect(d.body.text).toBe(/^cron:beat:(.+):0$/.exec(d.body.id)![1]);
    },
    60_000,
  );
});
