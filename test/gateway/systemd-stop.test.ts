/**
 * `hermes gateway stop` under a unit goes through `systemctl [--user] stop <unit>` (asked directly, the gateway
 * would exit 0 and `Restart=always` would bring it back). The gateway records its unit, from its own cgroup, in
 * state/gateway.json; a fake systemctl (HERMES_SYSTEMCTL) records its argv and stops the process as systemd would.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BINARY, cleanEnv, hermesAsync } from "../helpers/cli.ts";
import { freePort, startGateway, waitFor, waitReady } from "../helpers/gateway.ts";
import { makeHome, tempDir, writeFile } from "../helpers/home.ts";

/** Records its argv, then does what `systemctl stop` does: SIGTERM to the main pid, and wait until it is gone. */
const FAKE_SYSTEMCTL = `#!/bin/sh
printf '%s\\n' "$@" > "$FAKE_SYSTEMCTL_ARGV"
if [ -n "$FAKE_SYSTEMCTL_EXIT" ]; then echo "Failed to stop unit: Access denied" >&2; exit "$FAKE_SYSTEMCTL_EXIT"; fi
kill -TERM "$FAKE_SYSTEMCTL_PID"
i=0
while kill -0 "$FAKE_SYSTEMCTL_PID" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
`;

function fakeSystemctl() {
  const dir = tempDir();
  return { program: writeFile(dir, "systemctl", FAKE_SYSTEMCTL, 0o755), argv: join(dir, "argv") };
}

/** The gateway's cgroup, as /proc/self/cgroup shows it, can be replaced only by root in a mount namespace. */
function cgroupOverrideUnavailable(): string | undefined {
  if (process.platform !== "linux") return "not Linux";
  if (process.getuid?.() !== 0) return "needs root to bind-mount a cgroup file in a private mount namespace";
  const probe = spawnSync("unshare", ["--mount", "--propagation", "private", "true"], { encoding: "utf8" });
  return probe.status === 0 ? undefined : `unshare --mount failed: ${probe.stderr || probe.error?.message}`;
}
const unavailable = cgroupOverrideUnavailable();
if (unavailable) console.warn(`systemd-stop: the gateway-in-a-user-unit test is skipped: ${unavailable}`);

describe("hermes gateway stop under a unit", () => {
  it.skipIf(unavailable !== undefined)(
    "a gateway in a user unit records it, and stop runs systemctl --user stop <unit> (not the control socket)",
    async () => {
      const port = await freePort();
      const home = makeHome({
        config: `gateway:\n  http: { listen: "127.0.0.1:${port}" }\n  drain_timeout: 1s\n`,
      });
      const cgroup = writeFile(
        tempDir(),
        "cgroup",
        "0::/user.slice/user-1000.slice/user@1000.service/app.slice/hermes-gateway.service\n",
      );
      // unshare and sh exec in turn, so the gateway keeps the pid the test knows.
      const gw = startGateway({
        home,
        command: [
          "unshare",
          [
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            'mount --bind "$0" /proc/$$/cgroup && exec "$@"',
            cgroup,
            BINARY,
          ],
        ],
        env: { INVOCATION_ID: "0f3c6a3e0e4b4f5b9c1d2e3f4a5b6c7d" },
      });
      await waitReady(gw);
      // State writes are coalesced: wait for the one that follows readiness.
      const state = await waitFor("the state file", () => {
        const saved = JSON.parse(readFileSync(join(home, "state", "gateway.json"), "utf8"));
        return saved.state === "running" && saved;
      });
      expect(state).toMatchObject({
        pid: gw.pid,
        invocation_id: "0f3c6a3e0e4b4f5b9c1d2e3f4a5b6c7d",
        systemd: { unit: "hermes-gateway.service", manager: "user" },
      });

      const fake = fakeSystemctl();
      const stopped = await hermesAsync(["gateway", "stop", "--home", home], {
        env: cleanEnv({
          HERMES_SYSTEMCTL: fake.program,
          FAKE_SYSTEMCTL_ARGV: fake.argv,
          FAKE_SYSTEMCTL_PID: String(gw.pid),
        }),
      });
      expect(stopped.stderr).toBe("");
      expect(stopped.code).toBe(0);
      expect(stopped.stdout).toMatch(
        new RegExp(
          `^stopped hermes-gateway\\.service through systemctl --user stop hermes-gateway\\.service: pid ${gw.pid}, [\\d.]+ s\\n$`,
        ),
      );
      expect(readFileSync(fake.argv, "utf8")).toBe("--user\nstop\nhermes-gateway.service\n");
      expect(await gw.exited).toEqual({ code: 0, signal: null });
      // The stop came as systemd's SIGTERM, not as a request on the control socket.
      expect(gw.logs.find((l) => l.event === "gateway.stop")?.msg).toMatch(/^SIGTERM: draining/);
    },
    30_000,
  );

  function recordedUnit(home: string, pid: number, systemd: unknown) {
    writeFile(
      join(home, "state"),
      "gateway.json",
      `${JSON.stringify({ pid, state: "running", started_at: new Date().toISOString(), invocation_id: "x", systemd })}\n`,
    );
  }

  it("a system unit: systemctl stop <unit>, without --user; a refusal is exit 1 with the command named", async () => {
    const home = makeHome();
    const stand_in = spawn("sleep", ["30"], { stdio: "ignore" });
    const gone = new Promise((resolve) => stand_in.once("exit", resolve));
    try {
      recordedUnit(home, stand_in.pid!, { unit: "hermes-gateway-bot2.service", manager: "system" });
      const fake = fakeSystemctl();
      const env = {
        HERMES_SYSTEMCTL: fake.program,
        FAKE_SYSTEMCTL_ARGV: fake.argv,
        FAKE_SYSTEMCTL_PID: String(stand_in.pid),
      };

      const refused = await hermesAsync(["gateway", "stop", "--home", home], {
        env: cleanEnv({ ...env, FAKE_SYSTEMCTL_EXIT: "4" }),
      });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(
        `Failed to stop unit: Access denied\nsystemctl stop hermes-gateway-bot2.service failed (exit 4); pid ${stand_in.pid} is still running.\n`,
      );
      expect(stand_in.exitCode).toBeNull();

      const stopped = await hermesAsync(["gateway", "stop", "--home", home], { env: cleanEnv(env) });
      expect(stopped.code).toBe(0);
      expect(readFileSync(fake.argv, "utf8")).toBe("stop\nhermes-gateway-bot2.service\n");
      expect(stopped.stdout).toMatch(
        /^stopped hermes-gateway-bot2\.service through systemctl stop hermes-gateway-bot2\.service: pid \d+/,
      );
      await waitFor(
        "the stand-in to be gone",
        () => stand_in.exitCode !== null || stand_in.signalCode !== null,
      );
    } finally {
      stand_in.kill("SIGKILL");
      await gone;
    }
  });

  it("no systemctl to run: exit 1, and the message says how to stop the unit", async () => {
    const home = makeHome();
    const stand_in = spawn("sleep", ["30"], { stdio: "ignore" });
    const gone = new Promise((resolve) => stand_in.once("exit", resolve));
    try {
      recordedUnit(home, stand_in.pid!, { unit: "hermes-gateway.service", manager: "user" });
      const missing = join(tempDir(), "no-systemctl");
      const run = await hermesAsync(["gateway", "stop", "--home", home], {
        env: cleanEnv({ HERMES_SYSTEMCTL: missing }),
      });
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `Cannot run ${missing} (ENOENT); pid ${stand_in.pid} runs in hermes-gateway.service: stop it with systemctl --user stop hermes-gateway.service.\n`,
      );
      expect(stand_in.exitCode).toBeNull();
    } finally {
      stand_in.kill("SIGKILL");
      await gone;
    }
  });
});
