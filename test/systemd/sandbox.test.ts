/**
 * The systemd sandbox itself: the real systemd boots as PID 1 of private namespaces, runs units whose state and
 * journal the tests can read, leaves no process or cgroup behind, runs twice at once, and dies at its max life.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Sandbox, sandboxUnavailable, startTimeOf, stopAllSandboxes, until } from "./harness.ts";

const unavailable = sandboxUnavailable();
if (unavailable) console.log(`systemd sandbox tests skipped: ${unavailable}`);

afterEach(stopAllSandboxes);

/** Pids of `before` still running as the same process (a reused pid has another start time). */
function survivors(before: Map<number, string>): number[] {
  return [...before].filter(([pid, started]) => startTimeOf(pid) === started).map(([pid]) => pid);
}

const PROBE = `[Unit]
Description=probe that fails twice, then stays up
StartLimitIntervalSec=0

[Service]
# systemd expands $VAR in ExecStart: $$ is a literal $ for the shell.
ExecStart=/bin/sh -c 'n=$$(cat /run/probe-runs 2>/dev/null || echo 0); echo "probe run $$n"; echo $$((n+1)) > /run/probe-runs; [ $$n -ge 2 ] && exec sleep 1000; exit 3'
Restart=on-failure
RestartSec=1
`;

const SLEEPER = `[Service]
ExecStart=/bin/sleep 1000
`;

describe.skipIf(unavailable !== undefined)(
  `the systemd sandbox${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    it("boots the real systemd as PID 1 behind a read-only root and a private unit dir", async () => {
      const sb = await Sandbox.start({ name: "boot", maxLifeS: 60 });
      expect(readFileSync(`/proc/${sb.pid1}/comm`, "utf8").trim()).toBe("systemd");
      const state = await sb.exec(["systemctl", "is-system-running"]);
      expect(state.stdout.trim()).toBe("running");
      expect((await sb.exec(["cat", "/proc/1/comm"])).stdout.trim()).toBe("systemd");
      // The host's root is read-only inside; /etc/systemd/system is a private tmpfs.
      const probe = `/usr/hermes-sandbox-probe-${process.pid}`;
      expect((await sb.exec(["touch", probe])).code).not.toBe(0);
      expect(existsSync(probe)).toBe(false);
      const unit = `/etc/systemd/system/hermes-sandbox-probe-${process.pid}.service`;
      expect((await sb.exec(["sh", "-c", `echo '[Service]' > ${unit}`])).code).toBe(0);
      expect(existsSync(unit)).toBe(false);
      expect(readFileSync(join(sb.state, "console.log"), "utf8")).not.toContain("Freezing execution");
    });

    it("runs units: NRestarts, Result and the journal are readable; transient units report exit codes", async () => {
      const sb = await Sandbox.start({ name: "units", maxLifeS: 60 });
      await sb.writeUnit("probe.service", PROBE);
      expect((await sb.systemctl("start", "--no-block", "probe.service")).code).toBe(0);
      const up = await until(
        "probe.service to fail twice and then stay up",
        async () => {
          const s = await sb.show("probe.service", ["NRestarts", "ActiveState", "SubState", "Result"]);
          return s.SubState === "running" && s.NRestarts === "2" ? s : undefined;
        },
        15_000,
      );
      expect(up).toMatchObject({ ActiveState: "active", NRestarts: "2" });
      const journal = await sb.journal("probe.service");
      expect(journal.filter((l) => l.startsWith("probe run "))).toHaveLength(3);
      expect(journal.some((l) => /Main process exited, code=exited, status=3/.test(l))).toBe(true);
      expect(journal.some((l) => /restart counter is at 2/.test(l))).toBe(true);
      // A failed run leaves its result readable until the next start.
      expect((await sb.systemctl("kill", "-s", "KILL", "probe.service")).code).toBe(0);
      const killed = await until(
        "probe.service to be restarted after SIGKILL",
        async () => {
          const s = await sb.show("probe.service", ["NRestarts", "SubState"]);
          return s.NRestarts === "3" && s.SubState === "running" ? s : undefined;
        },
        15_000,
      );
      expect(killed.NRestarts).toBe("3");
      expect((await sb.journal("probe.service")).some((l) => /Failed with result 'signal'/.test(l))).toBe(
        true,
      );
      const transient = await sb.exec([
        "systemd-run",
        "--quiet",
        "--wait",
        "--pipe",
        "sh",
        "-c",
        "echo hi; exit 7",
      ]);
      expect(transient).toMatchObject({ code: 7, stdout: "hi\n" });
    });

    it("teardown leaves no process and no cgroup behind", async () => {
      const sb = await Sandbox.start({ name: "teardown", maxLifeS: 60 });
      await sb.writeUnit("sleeper.service", SLEEPER);
      expect((await sb.systemctl("start", "sleeper.service")).code).toBe(0);
      const sleeper = await until(
        "sleeper's pid",
        async () => (await sb.unitPids("sleeper.service"))[0],
        5_000,
      );
      const before = sb.processes();
      // systemd, the launchers, journald and the sleeper are all counted.
      expect(before.has(sb.pid1)).toBe(true);
      expect(before.has(sleeper)).toBe(true);
      for (const pid of sb.launchers) expect(before.has(pid)).toBe(true);
      expect(existsSync(sb.cgroup)).toBe(true);
      await sb.stop();
      expect(survivors(before)).toEqual([]);
      expect(existsSync(sb.cgroup)).toBe(false);
      expect(existsSync(sb.state)).toBe(false);
    });

    it("two sandboxes run at once, each with its own systemd and units", async () => {
      const [a, b] = await Promise.all([
        Sandbox.start({ name: "twin-a", maxLifeS: 60 }),
        Sandbox.start({ name: "twin-b", maxLifeS: 60 }),
      ]);
      expect(a.pid1).not.toBe(b.pid1);
      await a.writeUnit("only-in-a.service", SLEEPER);
      await b.writeUnit("only-in-b.service", SLEEPER);
      const started = await Promise.all([
        a.systemctl("start", "only-in-a.service"),
        b.systemctl("start", "only-in-b.service"),
      ]);
      expect(started.map((r) => r.code)).toEqual([0, 0]);
      expect((await a.show("only-in-a.service", ["ActiveState"])).ActiveState).toBe("active");
      expect((await b.show("only-in-b.service", ["ActiveState"])).ActiveState).toBe("active");
      expect((await a.show("only-in-b.service", ["LoadState"])).LoadState).toBe("not-found");
      expect((await b.show("only-in-a.service", ["LoadState"])).LoadState).toBe("not-found");
      const aProcs = a.processes();
      await a.stop();
      expect(survivors(aProcs)).toEqual([]);
      // b is untouched by a's teardown.
      expect((await b.exec(["systemctl", "is-system-running"])).stdout.trim()).toBe("running");
      expect((await b.show("only-in-b.service", ["ActiveState"])).ActiveState).toBe("active");
    });

    it("at its max life everything inside is killed and the sandbox is cleaned up", async () => {
      const sb = await Sandbox.start({ name: "maxlife", maxLifeS: 3 });
      await sb.writeUnit("sleeper.service", SLEEPER);
      expect((await sb.systemctl("start", "sleeper.service")).code).toBe(0);
      const before = sb.processes();
      expect(before.size).toBeGreaterThan(3);
      await until("every process of the sandbox to be gone", () => survivors(before).length === 0, 15_000);
      await until(
        "the cgroup and the state dir to be removed",
        () => !existsSync(sb.cgroup) && !existsSync(sb.state),
        10_000,
      );
    });

    it("binds host paths read-only or read-write, only over its own tmpfs", async () => {
      const dir = mkdtempSync(join(tmpdir(), "hermes-sdsb-"));
      try {
        writeFileSync(join(dir, "in.txt"), "from the host\n");
        const sb = await Sandbox.start({
          name: "binds",
          maxLifeS: 60,
          tmpfs: ["/srv"],
          binds: [
            { source: dir, target: "/srv/rw" },
            { source: join(dir, "in.txt"), target: "/srv/ro/in.txt", readOnly: true },
          ],
        });
        expect((await sb.exec(["cat", "/srv/ro/in.txt"])).stdout).toBe("from the host\n");
        expect((await sb.exec(["sh", "-c", "echo x > /srv/ro/in.txt"])).code).not.toBe(0);
        expect((await sb.exec(["sh", "-c", "echo from the sandbox > /srv/rw/out.txt"])).code).toBe(0);
        expect(readFileSync(join(dir, "out.txt"), "utf8")).toBe("from the sandbox\n");
        await expect(
          Sandbox.start({
            name: "badbind",
            maxLifeS: 30,
            binds: [{ source: dir, target: "/usr/not-a-tmpfs" }],
          }),
        ).rejects.toThrow(/parent is not a tmpfs/);
        expect(existsSync("/usr/not-a-tmpfs")).toBe(false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
