/**
 * The compiled gateway under the real systemd, through the unit `hermes install-service --system --dry-run`
 * generates plus a drop-in with short timings (RestartSec=2, WatchdogSec=3, TimeoutStopSec=drain+15); the
 * watchdog scenario runs the same CLI from source with the test platforms, through the unit generated for it
 * (--binary). Each scenario boots its own sandbox, so NRestarts, Result and the journal belong to that scenario
 * alone. Assertions read `systemctl show` and the journal; the host reaches the gateway's HTTP port (shared
 * network) and its control socket (bound home).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { receiver } from "../helpers/receiver.ts";
import {
  BINARY,
  freePort,
  RESTART_SEC,
  SECRET,
  signalRestart,
  startToReadyMs,
  waitAutoRestart,
  webhookConfig,
} from "./gateway-unit.ts";
import {
  type RestartTiming,
  SANDBOX_BINARY,
  SANDBOX_HOME,
  Sandbox,
  sandboxUnavailable,
  sleep,
  startTimeOf,
  stopAllSandboxes,
  UNIT_NAME,
  until,
} from "./harness.ts";
import { trackedGatewayUnits } from "./tracked-units.ts";

const unavailable = sandboxUnavailable() ?? (existsSync(BINARY) ? undefined : `${BINARY} is not built`);
if (unavailable) console.log(`systemd gateway scenarios skipped: ${unavailable}`);

/** Fields of /proc/PID/task/TID/stat after the command name: [0] the state, [11] utime in clock ticks. */
function threadStat(pid: number, tid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** How long the tests watch for a restart that must not happen. */
const OBSERVE_MS = 4_000;
/**
 * The upper bound on a restart gap only tells "restarted at the fixed RestartSec" from "backed off or gave up";
 * systemd's timers fire up to 250 ms late, and a loaded machine adds more, so it is kept loose.
 */
const RESTART_GAP_MAX_MS = 2 * RESTART_SEC * 1000;

const gatewayUnit = trackedGatewayUnits();

function printTiming(what: string, ready: number, restart: RestartTiming): void {
  console.log(
    `[systemd timing] ${what}: start → READY ${ready.toFixed(1)} ms; SIGUSR1 → exit ${restart.exitMs.toFixed(1)} ms, exit → new process ${restart.restartDelayMs.toFixed(1)} ms (RestartSec ${RESTART_SEC * 1000}), new process → active ${restart.readyMs.toFixed(1)} ms; restart overhead beyond drain and RestartSec ${restart.overheadMs.toFixed(1)} ms`,
  );
}

const stoppedLines = (journal: string[], code: number) =>
  journal.filter((l) => l.includes('"event":"gateway.stopped"') && l.includes(`"exit_code":${code}`));

describe.skipIf(unavailable !== undefined)(
  `the gateway under systemd${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    it("0. the generated unit loads cleanly in this systemd (Type=notify, NotifyAccess=main), exposure at most 4.0", async () => {
      const gu = await gatewayUnit({
        name: "gw-verify",
        config: webhookConfig({ replyUrl: "http://127.0.0.1:9/" }),
      });
      expect(gu.unitText.startsWith("# Written by hermes install-service")).toBe(true);
      expect(gu.unitText).toMatch(/^ExecStart=\/opt\/hermes\/hermes gateway run$/m);
      // Unknown keys and parse errors exit 0 too: any output at all is a failure (findings §6).
      expect(await gu.sb.exec(["systemd-analyze", "verify", "--man=no", UNIT_NAME])).toEqual({
        code: 0,
        stdout: "",
        stderr: "",
      });
      expect(await gu.show(["Type", "NotifyAccess", "Restart"])).toEqual({
        Type: "notify",
        NotifyAccess: "main",
        Restart: "always",
      });
      const security = await gu.sb.exec(["systemd-analyze", "security", "--no-pager", UNIT_NAME]);
      const exposure = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(security.stdout)?.[1]);
      console.log(`[systemd] exposure of the generated system unit: ${exposure}`);
      expect(exposure).toBeLessThanOrEqual(4.0);
    });

    it("1. a token removed from .env: the restarted gateway runs degraded, is not restarted, and the webhook answers", async () => {
      const r = await receiver();
      const gu = await gatewayUnit({
        name: "gw-degraded",
        config: webhookConfig({
          replyUrl: r.url,
          // api_base on a closed loopback port: nothing leaves the machine.
          platforms: '  telegram:\n    allowed_users: [1]\n    api_base: "http://127.0.0.1:9"\n',
        }),
        env: `WEBHOOK_SECRET=${SECRET}\nTELEGRAM_BOT_TOKEN=123456789:AAHtestTokenNotReal000000000000000000\n`,
      });
      const first = await gu.start();
      expect(first.gateway.platforms.telegram?.reason ?? "").not.toMatch(/^missing-token/);
      writeFileSync(join(gu.home, ".env"), `WEBHOOK_SECRET=${SECRET}\n`, { mode: 0o600 });
      expect((await gu.systemctl("restart")).code).toBe(0);
      const { unit, gateway } = await gu.waitUp({ notPid: first.unit.MainPID });
      expect(gateway.state).toBe("degraded");
      expect(gateway.platforms.telegram).toMatchObject({
        state: "disabled",
        reason: expect.stringMatching(/^missing-token: .*TELEGRAM_BOT_TOKEN is not set/),
      });
      expect(gateway.platforms.webhook?.state).toBe("connected");
      // The webhook platform answers, and the reply goes out, while telegram stays down.
      const res = await gu.post({ chat_id: "c1", user_id: "u1", text: "still here?", message_id: "m-1" });
      expect(res.status).toBe(202);
      await until("the echo reply", () => r.delivered().some((d) => d.body.text === "still here?"), 10_000);
      expect((await fetch(`http://127.0.0.1:${gu.port}/readyz`)).status).toBe(200);
      // Over the observation window the process stays, systemd never restarts it.
      const deadline = Date.now() + OBSERVE_MS;
      while (Date.now() < deadline) {
        expect(await gu.state()).toMatchObject({
          ActiveState: "active",
          NRestarts: "0",
          MainPID: unit.MainPID,
        });
        await sleep(500);
      }
      const journal = await gu.journal();
      expect(journal.some((l) => l.includes("missing-token") && l.includes("telegram"))).toBe(true);
      expect(journal.some((l) => /Scheduled restart job/.test(l))).toBe(false);
    });

    it("2. SIGUSR1, POST /admin/restart and `hermes gateway restart`: exit 75, restarted once each, active again, Result=success", async () => {
      const gu = await gatewayUnit({
        name: "gw-restart",
        config: webhookConfig({ replyUrl: "http://127.0.0.1:9/" }),
      });
      const first = await gu.start();
      const ready = await startToReadyMs(gu);

      const bySignal = await signalRestart(gu);
      expect(bySignal.exited).toMatchObject({ ExecMainCode: "1", ExecMainStatus: "75", Result: "success" });
      expect(bySignal.up.unit).toMatchObject({ NRestarts: "1", Result: "success" });
      expect(bySignal.up.unit.MainPID).not.toBe(first.unit.MainPID);
      expect(bySignal.timing.restartDelayMs).toBeGreaterThanOrEqual(RESTART_SEC * 1000);

      expect((await gu.control("POST", "/admin/restart")).status).toBe(202);
      const bySocket = await waitAutoRestart(gu);
      expect(bySocket).toMatchObject({ ExecMainCode: "1", ExecMainStatus: "75", Result: "success" });
      const second = await gu.waitUp({ notPid: bySignal.up.unit.MainPID });
      expect(second.unit.NRestarts).toBe("2");

      const cli = await gu.sb.exec([SANDBOX_BINARY, "gateway", "restart", "--home", SANDBOX_HOME], {
        timeoutMs: 45_000,
      });
      expect(cli.code).toBe(0);
      const third = await gu.waitUp({ notPid: second.unit.MainPID });
      expect(cli.stdout).toContain(
        `restarted: old pid ${second.unit.MainPID}, new pid ${third.unit.MainPID}`,
      );
      expect(third.unit).toMatchObject({ NRestarts: "3", Result: "success" });

      const journal = await gu.journal();
      expect(stoppedLines(journal, 75)).toHaveLength(3);
      expect(journal.filter((l) => /Scheduled restart job, restart counter is at \d/.test(l))).toHaveLength(
        3,
      );
      expect(journal.some((l) => /Failed with result/.test(l))).toBe(false);
      printTiming("restart", ready, bySignal.timing);
    });

    it("3. a restart with a stuck agent: exits by the deadline, restarted, nothing left in the unit's cgroup", async () => {
      const r = await receiver();
      // The first run leaves a grandchild in its own session holding the agent's stdout: the agent's reply never
      // comes, killing its process group does not end it, and the message stays in flight through the drain.
      const agent = `agent:
  kind: command
  command:
    shell: "if [ -e stuck.done ]; then echo recovered; else touch stuck.done; setsid sleep 1000 & exec sleep 1000; fi"
    timeout: 600s
`;
      const gu = await gatewayUnit({ name: "gw-stuck", config: webhookConfig({ replyUrl: r.url, agent }) });
      await gu.start();
      const main = await gu.hostMainPid();
      expect(
        (await gu.post({ chat_id: "c1", user_id: "u1", text: "hold", message_id: "m-stuck" })).status,
      ).toBe(202);
      const stuck = await until(
        "the agent and its escaped grandchild",
        async () => {
          const others = (await gu.sb.unitPids(UNIT_NAME)).filter((pid) => pid !== main);
          return others.length >= 2 ? others : undefined;
        },
        10_000,
      );
      const stuckStarts = new Map(stuck.map((pid) => [pid, startTimeOf(pid)]));

      const { exited, up, timing } = await signalRestart(gu);
      expect(exited).toMatchObject({ ExecMainCode: "1", ExecMainStatus: "75", Result: "success" });
      // The drain waited for the message in flight, and the hard deadline (drain + 10 s) bounded the exit.
      expect(timing.exitMs).toBeGreaterThanOrEqual(2_000);
      expect(timing.exitMs).toBeLessThan((2 + 10 + 1) * 1000);
      expect(up.unit.NRestarts).toBe("1");
      for (const [pid, started] of stuckStarts) expect(startTimeOf(pid)).not.toBe(started);
      // The accepted message is answered by the new process, and then only the gateway is left in the cgroup.
      await until(
        "the reply from the new process",
        () => r.delivered().some((d) => d.body.text === "recovered"),
        15_000,
      );
      const newMain = await gu.hostMainPid();
      await until(
        "only the new main process in the unit's cgroup",
        async () => {
          const pids = await gu.sb.unitPids(UNIT_NAME);
          return pids.length === 1 && pids[0] === newMain;
        },
        10_000,
      );
      expect(stoppedLines(await gu.journal(), 75)).toHaveLength(1);
    });

    it("4. a wedged main event loop: the watchdog kills it with SIGABRT (Result=watchdog) and systemd restarts it", async () => {
      // The unit runs the CLI with the test platforms (install-service --binary), so the `wedge` platform can
      // busy-loop the main thread on SIGUSR2. Only the main event loop stops: the process stays runnable, its
      // other threads run on. A watchdog fed from any other thread would keep it alive, and the test would fail.
      const gu = await gatewayUnit({
        name: "gw-watchdog",
        testPlatforms: true,
        config: webhookConfig({
          replyUrl: "http://127.0.0.1:9/",
          platforms: "  wedge:\n    allowed_users: [1]\n",
        }),
        env: `WEBHOOK_SECRET=${SECRET}\nWEDGE_TOKEN=test-token\n`,
      });
      expect(gu.unitText).toMatch(/^ExecStart=\/opt\/hermes\/hermes-test-platforms gateway run$/m);
      const first = await gu.start();
      expect(first.gateway.platforms.wedge?.state).toBe("connected");
      // Fed while the loop turns: systemd records the pings (the generated unit with the drop-in's 3 s on top),
      // and the process outlives WatchdogSec with no restart.
      const lastPing = async () =>
        Number((await gu.show(["WatchdogTimestampMonotonic"])).WatchdogTimestampMonotonic);
      const firstPing = await lastPing();
      expect((await gu.show(["WatchdogUSec"])).WatchdogUSec).toBe("3s");
      await sleep(4_000);
      expect(await gu.state()).toMatchObject({
        ActiveState: "active",
        NRestarts: "0",
        MainPID: first.unit.MainPID,
      });
      expect(await lastPing()).toBeGreaterThan(firstPing);

      const pid = await gu.hostMainPid();
      // The wrapper exec'd Bun: the unit's main process, the one NotifyAccess=main listens to, is the gateway.
      expect(readFileSync(`/proc/${pid}/comm`, "utf8").trim()).toBe("bun");
      expect((await gu.systemctl("kill", "--kill-who=main", "-s", "SIGUSR2")).code).toBe(0);
      // Wedged, not stopped: the main thread keeps burning CPU, no thread is stopped, and the loop answers nothing.
      const cpu = () => Number(threadStat(pid, pid)?.[11]);
      const before = await until(
        "the main thread to spin",
        () => threadStat(pid, pid)?.[0] === "R" && cpu(),
        5_000,
      );
      await until("the main thread's CPU time to grow", () => cpu() > before, 5_000);
      const threads = readdirSync(`/proc/${pid}/task`).map((tid) => threadStat(pid, Number(tid))?.[0]);
      expect(threads.length).toBeGreaterThan(1);
      expect(threads.filter((state) => state === "T" || state === "t")).toEqual([]);
      await expect(
        fetch(`http://127.0.0.1:${gu.port}/healthz`, { signal: AbortSignal.timeout(1_000) }),
      ).rejects.toThrow();

      const exited = await waitAutoRestart(gu, 30_000);
      expect(exited).toMatchObject({ Result: "watchdog", ExecMainCode: "2", ExecMainStatus: "6" });
      const up = await gu.waitUp({ notPid: first.unit.MainPID, timeoutMs: 30_000 });
      expect(up.unit).toMatchObject({ ActiveState: "active", NRestarts: "1" });
      expect(up.gateway.platforms.wedge?.state).toBe("connected");
      const journal = await gu.journal();
      expect(journal.filter((l) => /Watchdog timeout \(limit 3s\)!/.test(l))).toHaveLength(1);
      expect(
        journal.some((l) =>
          new RegExp(`Killing process ${first.unit.MainPID} \\(\\S+\\) with signal SIGABRT`).test(l),
        ),
      ).toBe(true);
      expect(journal.some((l) => /Failed with result 'watchdog'/.test(l))).toBe(true);
    });

    it("5. a config.yaml that does not parse: exit 78, not restarted, and systemctl status says why", async () => {
      // Installed over a good config (install-service refuses one that does not parse), broken afterwards.
      const gu = await gatewayUnit({
        name: "gw-config",
        config: webhookConfig({ replyUrl: "http://127.0.0.1:9/" }),
      });
      writeFileSync(join(gu.home, "config.yaml"), "gateway: [\n", { mode: 0o600 });
      await gu.systemctl("start", "--no-block");
      const failed = await until(
        "the unit to fail",
        async () => {
          const s = await gu.state();
          return s.ActiveState === "failed" ? s : undefined;
        },
        15_000,
      );
      expect(failed).toMatchObject({
        ExecMainCode: "1",
        ExecMainStatus: "78",
        Result: "exit-code",
        NRestarts: "0",
      });
      await sleep(RESTART_SEC * 1000 + 1000);
      expect(await gu.state()).toMatchObject({ ActiveState: "failed", NRestarts: "0" });
      const errors = (await gu.journal()).filter((l) => l.includes("config.yaml cannot be used"));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(
        /^hermes: \/srv\/hermes-home\/config\.yaml cannot be used \(line \d+: [^\n]+\); run hermes lint config$/,
      );
      const status = await gu.systemctl("status");
      expect(status.code).toBe(3);
      expect(status.stdout).toMatch(/status=78/);
      expect(status.stdout).toContain("/srv/hermes-home/config.yaml cannot be used");
    });

    it("6. a crash loop: restarts spaced by RestartSec, and active again without help once the fault is gone", async () => {
      const gu = await gatewayUnit({
        name: "gw-crash",
        config: webhookConfig({ replyUrl: "http://127.0.0.1:9/" }),
      });
      // A broken home: state/ is a file, so every start fails with exit 73 (EX_CANTCREAT), which systemd retries;
      // never 78, which it would not.
      writeFileSync(join(gu.home, "state"), "not a directory\n");
      await gu.systemctl("start", "--no-block");
      await until("three restarts", async () => Number((await gu.state()).NRestarts) >= 3, 30_000);
      const entries = await gu.sb.journalEntries(UNIT_NAME);
      const exits = entries.filter((e) =>
        /Main process exited, code=exited, status=73\/CANTCREAT/.test(e.message),
      );
      const restarts = entries.filter((e) =>
        /Scheduled restart job, restart counter is at \d+/.test(e.message),
      );
      expect(exits.length).toBeGreaterThanOrEqual(3);
      const gaps = restarts
        .slice(0, 3)
        .map((restart, i) => (restart.monotonicUs - exits[i]!.monotonicUs) / 1000);
      expect(gaps).toHaveLength(3);
      for (const gap of gaps) {
        expect(gap).toBeGreaterThanOrEqual(RESTART_SEC * 1000);
        expect(gap).toBeLessThan(RESTART_GAP_MAX_MS);
      }
      expect(
        entries.filter(
          (e) =>
            e.message ===
            "hermes: the gateway cannot start: /srv/hermes-home/state is not a directory, and hermes keeps a directory there",
        ).length,
      ).toBeGreaterThanOrEqual(3);
      rmSync(join(gu.home, "state"));
      const { unit } = await gu.waitUp({ timeoutMs: 15_000 });
      expect(unit).toMatchObject({ ActiveState: "active", Result: "success" });
      expect((await gu.journal()).some((l) => /Start request repeated too quickly/.test(l))).toBe(false);
      console.log(
        `[systemd timing] crash loop: exit → restart gaps ${gaps.map((g) => g.toFixed(0)).join(", ")} ms`,
      );
    });

    it("7. systemctl stop during a drain: in-flight work finishes, clean exit 0 within TimeoutStopSec, no restart", async () => {
      const r = await receiver();
      const agent = `agent:
  kind: command
  command:
    shell: "sleep 2; echo slow-done"
    timeout: 60s
`;
      const gu = await gatewayUnit({
        name: "gw-stop",
        config: webhookConfig({ replyUrl: r.url, agent, drainS: 5 }),
        drainS: 5,
      });
      await gu.start();
      const main = await gu.hostMainPid();
      expect(
        (await gu.post({ chat_id: "c1", user_id: "u1", text: "slow", message_id: "m-slow" })).status,
      ).toBe(202);
      await until(
        "the agent to run",
        async () => (await gu.sb.unitPids(UNIT_NAME)).some((pid) => pid !== main),
        10_000,
      );
      const stop = await gu.systemctl("stop");
      expect(stop.code).toBe(0);
      expect(await gu.state()).toMatchObject({
        ActiveState: "inactive",
        Result: "success",
        ExecMainCode: "1",
        ExecMainStatus: "0",
        NRestarts: "0",
      });
      // The drain finished the message in flight and delivered its reply before the process exited.
      expect(r.delivered().map((d) => d.body.text)).toContain("slow-done");
      await sleep(RESTART_SEC * 1000 + 1000);
      expect(await gu.state()).toMatchObject({ ActiveState: "inactive", NRestarts: "0" });
      const journal = await gu.journal();
      expect(journal.some((l) => l.includes("SIGTERM: draining"))).toBe(true);
      expect(stoppedLines(journal, 0)).toHaveLength(1);
      expect(journal.filter((l) => /Deactivated successfully/.test(l))).toHaveLength(1);
      expect(journal.some((l) => /timed out|SIGKILL/.test(l))).toBe(false);
    });

    it("8. a second instance started by hand exits 69 naming the service's pid; the service is untouched", async () => {
      const gu = await gatewayUnit({
        name: "gw-second",
        config: webhookConfig({ replyUrl: "http://127.0.0.1:9/" }),
      });
      const { unit } = await gu.start();
      const second = await gu.sb.exec([SANDBOX_BINARY, "gateway", "run", "--home", SANDBOX_HOME], {
        timeoutMs: 15_000,
      });
      expect(second.code).toBe(69);
      expect(second.stderr).toContain(`pid ${unit.MainPID}`);
      await sleep(1000);
      expect(await gu.state()).toMatchObject({
        ActiveState: "active",
        NRestarts: "0",
        MainPID: unit.MainPID,
      });
      expect((await gu.status()).pid).toBe(Number(unit.MainPID));
      expect((await fetch(`http://127.0.0.1:${gu.port}/healthz`)).status).toBe(200);
    });

    it("9. install-service --system on a fresh tree: enabled, started, READY, reported by gateway status; uninstall-service removes it", async () => {
      const home = mkdtempSync(join(tmpdir(), "hermes-sd-"));
      const port = await freePort();
      writeFileSync(join(home, "config.yaml"), `gateway:\n  http: { listen: "127.0.0.1:${port}" }\n`, {
        mode: 0o600,
      });
      try {
        const sb = await Sandbox.start({
          name: "gw-install",
          maxLifeS: 120,
          shareNet: true,
          tmpfs: ["/opt", "/srv"],
          binds: [
            { source: BINARY, target: SANDBOX_BINARY, readOnly: true },
            { source: home, target: SANDBOX_HOME },
          ],
        });
        const install = await sb.exec(
          [SANDBOX_BINARY, "install-service", "--system", "--home", SANDBOX_HOME, "--run-as-user", "root"],
          { timeoutMs: 90_000 },
        );
        expect(install.code, install.stderr).toBe(0);
        expect((await sb.systemctl("is-enabled", UNIT_NAME)).stdout.trim()).toBe("enabled");
        expect(install.stdout).toContain(`${UNIT_NAME} is installed, enabled and running`);
        // Type=notify: active means systemd had READY=1 from the main process; STATUS= came with it.
        const { ActiveState, MainPID, Type, StatusText } = await sb.show(UNIT_NAME, [
          "ActiveState",
          "MainPID",
          "Type",
          "StatusText",
        ]);
        expect({ ActiveState, Type }).toEqual({ ActiveState: "active", Type: "notify" });
        expect(StatusText).toMatch(/^(running|degraded): /);
        const status = await sb.exec([SANDBOX_BINARY, "gateway", "status", "--home", SANDBOX_HOME]);
        expect(status.code).toBe(0);
        expect(status.stdout).toContain(`pid ${MainPID}`);
        const uninstall = await sb.exec([SANDBOX_BINARY, "uninstall-service", "--system"], {
          timeoutMs: 60_000,
        });
        expect(uninstall.code, uninstall.stderr).toBe(0);
        expect((await sb.exec(["test", "-e", `/etc/systemd/system/${UNIT_NAME}`])).code).not.toBe(0);
        expect((await sb.show(UNIT_NAME, ["LoadState"])).LoadState).toBe("not-found");
      } finally {
        await stopAllSandboxes();
        rmSync(home, { recursive: true, force: true });
      }
    });
  },
);
