/**
 * Scheduled jobs under the real systemd (issue 6), in a sandbox booted per scenario like the gateway scenarios:
 *  - the seed: a gateway unit with one platform whose token is gone and the webhook platform working, a job every
 *    2 s: it fires at every slot for 30 s, its messages arrive at the webhook's reply_url, and systemd never
 *    restarts the unit meanwhile;
 *  - hermes-cron.service beside the gateway unit, both as install-service generates them: cron serve holds the
 *    scheduler lock and the gateway stands by; SIGKILL cron serve and the gateway takes over within 10 s, systemd
 *    restarts cron serve (which now stands by), and no slot runs twice.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { receiver } from "../helpers/receiver.ts";
import { BINARY, SECRET, webhookConfig } from "./gateway-unit.ts";
import { generatedUnit, sandboxUnavailable, sleep, timingDropIn, UNIT_NAME, until } from "./harness.ts";
import { trackedGatewayUnits } from "./tracked-units.ts";

const unavailable = sandboxUnavailable() ?? (existsSync(BINARY) ? undefined : `${BINARY} is not built`);
if (unavailable) console.log(`systemd cron scenarios skipped: ${unavailable}`);

const CRON_UNIT = "hermes-cron.service";
const SEED_WINDOW_MS = 30_000;

const gatewayUnit = trackedGatewayUnits([UNIT_NAME, CRON_UNIT]);

/** The slot (epoch ms) of a delivered result `cron:<job>:<slot ISO>:<target>`, for `job`. */
function slotOf(job: string, id: string): number | undefined {
  const m = new RegExp(`^cron:${job}:(.+):0$`).exec(id);
  return m ? Date.parse(m[1]!) : undefined;
}

interface CronStatus {
  alive: boolean;
  holder: { pid: number; kind: string } | null;
}

const lockHolder = (home: string): { pid: number; kind: string } | undefined => {
  try {
    return JSON.parse(readFileSync(join(home, "run", "cron.lock"), "utf8"));
  } catch {
    return undefined;
  }
};

describe.skipIf(unavailable !== undefined)(
  `scheduled jobs under systemd${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    it("the seed: a job every 2 s fires at every slot for 30 s while telegram has no token; the unit is never restarted", async () => {
      const r = await receiver();
      // As in the gateway's scenario 1: installed with the token (api_base on a closed loopback port, so nothing
      // leaves the machine), then the token is removed from .env and the unit restarted.
      const base = webhookConfig({
        replyUrl: r.url,
        platforms: '  telegram:\n    allowed_users: [1]\n    api_base: "http://127.0.0.1:9"\n',
      });
      const gu = await gatewayUnit({
        name: "cron-seed",
        maxLifeS: 90,
        env: `WEBHOOK_SECRET=${SECRET}\nTELEGRAM_BOT_TOKEN=123456789:AAHtestTokenNotReal000000000000000000\n`,
        config: (port) => `${base(port)}cron:
  jobs:
    - id: seed
      schedule: every 2s
      message: tick
      deliver: [webhook:ops]
`,
      });
      const first = await gu.start();
      writeFileSync(join(gu.home, ".env"), `WEBHOOK_SECRET=${SECRET}\n`, { mode: 0o600 });
      expect((await gu.systemctl("restart")).code).toBe(0);
      const { unit } = await gu.waitUp({ notPid: first.unit.MainPID });
      const t0 = Date.now();
      while (Date.now() - t0 < SEED_WINDOW_MS) {
        expect(await gu.state()).toMatchObject({
          ActiveState: "active",
          NRestarts: "0",
          MainPID: unit.MainPID,
        });
        const status = (await gu.status()) as unknown as {
          platforms: Record<string, { state: string; reason: string | null }>;
          cron: CronStatus;
        };
        expect(status.platforms.telegram).toMatchObject({
          state: "disabled",
          reason: expect.stringMatching(/^missing-token: .*TELEGRAM_BOT_TOKEN is not set/),
        });
        expect(status.cron).toMatchObject({ alive: true, holder: { kind: "gateway" } });
        await sleep(2000);
      }
      const end = Date.now();
      await until(
        "the last slot's message",
        () => r.delivered().some((d) => (slotOf("seed", d.body.id) ?? 0) >= end - 2000),
        10_000,
      );
      const ids = r.delivered().map((d) => d.body.id as string);
      expect(new Set(ids).size).toBe(ids.length);
      for (const d of r.delivered())
        expect(d).toMatchObject({ signatureOk: true, body: { chat_id: "ops", text: "tick" } });
      const slots = ids.map((id) => slotOf("seed", id)!).sort((a, b) => a - b);
      // Every slot from the first to the last, none missing, none twice.
      for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBe(2000);
      expect(slots[0]!).toBeLessThanOrEqual(t0 + 2000);
      expect(slots.length).toBeGreaterThanOrEqual(SEED_WINDOW_MS / 2000);
      const journal = await gu.journal();
      expect(journal.some((l) => /Scheduled restart job/.test(l))).toBe(false);
      expect(await gu.state()).toMatchObject({ NRestarts: "0", MainPID: unit.MainPID });
    }, 120_000);

    it("hermes-cron.service holds the scheduler; SIGKILL it and the gateway unit takes over within 10 s; no slot twice", async () => {
      const r = await receiver();
      const base = webhookConfig({ replyUrl: r.url });
      // Each run appends its slot to fired.log before printing it (the printed slot is the result delivered).
      const gu = await gatewayUnit({
        name: "cron-units",
        maxLifeS: 90,
        config: (port) => `${base(port)}cron:
  jobs:
    - { id: beat, schedule: every 1s, command: 'echo "$HERMES_JOB_SLOT" >> fired.log; echo "$HERMES_JOB_SLOT"', deliver: [webhook:ops] }
`,
      });
      const cronUnit = await generatedUnit(gu.sb, { component: "cron" });
      expect(cronUnit).toMatch(/^ExecStart=\/opt\/hermes\/hermes cron serve$/m);
      await gu.sb.writeUnit(CRON_UNIT, cronUnit, {
        "50-test-timings.conf": timingDropIn({ timeoutStopS: 17 }),
      });
      // Any output from verify is a finding (it exits 0 on unknown keys too).
      expect(await gu.sb.exec(["systemd-analyze", "verify", "--man=no", CRON_UNIT])).toEqual({
        code: 0,
        stdout: "",
        stderr: "",
      });
      expect((await gu.sb.systemctl("enable", CRON_UNIT)).code).toBe(0);

      // cron serve first: systemctl start returns once it sent READY=1, and it holds the lock.
      const started = await gu.sb.systemctl("start", CRON_UNIT);
      expect(started.code, started.stderr).toBe(0);
      const cronPid = (await gu.sb.show(CRON_UNIT, ["MainPID"])).MainPID!;
      await until("cron serve to hold the lock", () => lockHolder(gu.home)?.kind === "cron-serve", 10_000);
      // The lock names the pid as the holder sees it, in the sandbox's pid namespace.
      expect(lockHolder(gu.home)?.pid).toBe(Number(cronPid));

      // The gateway stands by and names the holder; cron serve's results reach the webhook through it.
      const { unit } = await gu.start();
      const status = (await gu.status()) as unknown as { cron: CronStatus };
      expect(status.cron.holder).toMatchObject({ kind: "cron-serve" });
      await until(
        "results of cron serve delivered through the gateway",
        () => r.delivered().filter((d) => slotOf("beat", d.body.id) !== undefined).length >= 3,
        15_000,
      );

      const killed = await gu.sb.systemctl("kill", "--signal=SIGKILL", CRON_UNIT);
      expect(killed.code, killed.stderr).toBe(0);
      await until(
        "the gateway to take the scheduler over",
        () => {
          const holder = lockHolder(gu.home);
          return holder?.kind === "gateway" ? holder : undefined;
        },
        10_000,
      );
      const takenOver = Date.now();
      // systemd restarts cron serve (RestartSec=2), and the new one stands by: the gateway keeps the lock.
      await until(
        "cron serve restarted and standing by",
        async () => {
          const s = await gu.sb.show(CRON_UNIT, ["ActiveState", "NRestarts", "MainPID"]);
          if (s.ActiveState !== "active" || s.NRestarts !== "1" || s.MainPID === cronPid) return undefined;
          return (await gu.sb.journal(CRON_UNIT)).some((l) => l.includes('"event":"cron.standby"'));
        },
        15_000,
      );
      expect(lockHolder(gu.home)?.kind).toBe("gateway");
      await until(
        "slots fired by the gateway after the takeover",
        () => r.delivered().some((d) => (slotOf("beat", d.body.id) ?? 0) >= takenOver + 1000),
        10_000,
      );

      const fired = readFileSync(join(gu.home, "fired.log"), "utf8").trim().split("\n");
      expect(new Set(fired).size).toBe(fired.length);
      const ids = r.delivered().map((d) => d.body.id as string);
      expect(new Set(ids).size).toBe(ids.length);
      // The gateway unit itself was never restarted.
      expect(await gu.state()).toMatchObject({
        ActiveState: "active",
        NRestarts: "0",
        MainPID: unit.MainPID,
      });
    }, 120_000);
  },
);
