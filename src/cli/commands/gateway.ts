import { spawn } from "node:child_process";
import { loadConfig } from "../../config/load.ts";
import { summarize } from "../../lint/diagnostic.ts";
import { formatHuman } from "../../lint/format/human.ts";
import { Redactor } from "../../lint/redact.ts";
import { lintLoaded } from "../../lint/run.ts";
import type { ServiceUnit } from "../../systemd/unit.ts";
import { command, group } from "../define.ts";
import { resolveHome, resolveLogLevel } from "../globals.ts";
import { colors, err, out } from "../output.ts";

const LSB = { running: 0, degraded: 1, notRunning: 3 } as const;

const run = command({
  name: "gateway run",
  description: "Run the gateway in the foreground (what the systemd unit starts)",
  args: {
    config: {
      type: "string",
      description: "config file to use instead of $HERMES_HOME/config.yaml",
      valueHint: "file",
    },
    strict: { type: "boolean", description: "any lint error stops startup (exit 78)" },
    supervised: {
      type: "boolean",
      description: "a supervisor restarts this process: exit 75 to restart, do not start a replacement",
    },
  },
  async run(args) {
    const { runGateway } = await import("../../gateway/run.ts");
    const { loadRuntime } = await import("../../runtime/index.ts");
    const wait = Number(process.env.HERMES_LOCK_WAIT_MS ?? 0);
    const code = await runGateway({
      home: resolveHome(args.home as string | undefined),
      configFile: args.config as string | undefined,
      strict: args.strict === true,
      supervised: args.supervised === true,
      logLevel: resolveLogLevel(args["log-level"] as string | undefined),
      runtime: await loadRuntime(),
      lockWaitMs: Number.isFinite(wait) ? Math.min(wait, 60_000) : 0,
    });
    // A leaked socket or timer must not keep a stopped gateway alive: flush, then end.
    await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
    process.exit(code);
  },
});

const status = command({
  name: "gateway status",
  description: "Ask the running gateway for its state (exit 0 running, 1 degraded, 3 not running)",
  args: { json: { type: "boolean", description: "print JSON" } },
  async run(args) {
    const { controlRequest, heartbeatAge, isAlive, readState, socketFor } = await import(
      "../../gateway/control.ts"
    );
    const home = resolveHome(args.home as string | undefined);
    const json = args.json === true;
    try {
      const response = await controlRequest(socketFor(home), "GET", "/status");
      const live = response.body as {
        state: string;
        pid: number;
        platforms: Record<string, { state: string; reason: string | null }>;
      };
      if (json) out(`${JSON.stringify(live, null, 2)}\n`);
      else out(describeLive(live));
      return live.state === "running" ? LSB.running : LSB.degraded;
    } catch {
      // No answer on the control socket: fall back to the state files, saying how stale they are.
    }
    const saved = readState(home);
    const age = heartbeatAge(home);
    const alive = saved !== undefined && isAlive(saved.pid) && age !== undefined && age < 15;
    if (json) {
      out(
        `${JSON.stringify({ running: alive, answering: false, last_state: saved ?? null, heartbeat_age_s: age ?? null }, null, 2)}\n`,
      );
    } else if (!saved) {
      out(`not running: no gateway has run in ${home}\n`);
    } else if (alive) {
      out(
        `degraded: pid ${saved.pid} is alive (heartbeat ${age!.toFixed(0)} s ago) but does not answer on its control socket\n`,
      );
    } else {
      out(
        `not running: last seen as ${saved.state} (pid ${saved.pid}), heartbeat ${age === undefined ? "missing" : `${formatAge(age)} ago`}\n`,
      );
    }
    return alive ? LSB.degraded : LSB.notRunning;
  },
});

function describeLive(s: {
  state: string;
  pid: number;
  platforms: Record<string, { state: string; reason: string | null }>;
}): string {
  const lines = [`${s.state} (pid ${s.pid})`];
  for (const [name, p] of Object.entries(s.platforms))
    lines.push(`  ${name.padEnd(10)} ${p.state}${p.reason ? `: ${p.reason}` : ""}`);
  return `${lines.join("\n")}\n`;
}

function formatAge(seconds: number): string {
  if (seconds < 120) return `${seconds.toFixed(0)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(0)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const restart = command({
  name: "gateway restart",
  description: "Lint the config, then ask for a drained restart and wait for the new process",
  args: {
    force: { type: "boolean", description: "restart even when the config has lint errors" },
    timeout: {
      type: "string",
      description: "seconds to wait for the new process (default: drain timeout + 30)",
      valueHint: "s",
    },
  },
  async run(args) {
    const { controlRequest, readState, socketFor } = await import("../../gateway/control.ts");
    const home = resolveHome(args.home as string | undefined);
    const load = loadConfig({ home, env: process.env });
    const diagnostics = lintLoaded(load).map((d) => new Redactor(load.secrets).diagnostic(d));
    const summary = summarize(diagnostics);
    if (summary.errors > 0 && args.force !== true) {
      out(formatHuman(diagnostics, summary, [load.configFile.path], colors(process.stdout)));
      err(
        `Refusing to restart: the configuration has ${summary.errors} error${summary.errors === 1 ? "" : "s"} (fix them, or use --force).`,
      );
      return 1;
    }
    const timeoutS =
      args.timeout === undefined ? load.config.gateway.drain_timeout / 1000 + 30 : Number(args.timeout);
    if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
      err(`--timeout must be a number of seconds, not "${String(args.timeout)}"`);
      return 2;
    }
    let oldPid: number;
    try {
      const answer = await controlRequest(socketFor(home), "POST", "/admin/restart");
      if (answer.status !== 202) {
        err(
          `The gateway refused the restart (it is ${(answer.body as { state?: string }).state ?? "busy"}).`,
        );
        return 1;
      }
      oldPid = (answer.body as { pid: number }).pid;
    } catch {
      err(`No gateway is running for ${home}; start it with hermes gateway run (or its service).`);
      return 1;
    }
    const started = Date.now();
    const tty = process.stderr.isTTY === true;
    if (tty) process.stderr.write(`restarting pid ${oldPid}: draining`);
    while (Date.now() - started < timeoutS * 1000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (tty && (Date.now() - started) % 1000 < 100) process.stderr.write(".");
      const saved = readState(home);
      if (!saved || saved.pid === oldPid || (saved.state !== "running" && saved.state !== "degraded"))
        continue;
      try {
        const live = await controlRequest(socketFor(home), "GET", "/status", 1000);
        const pid = (live.body as { pid: number }).pid;
        if (pid === oldPid) continue;
        if (tty) process.stderr.write("\n");
        out(
          `restarted: old pid ${oldPid}, new pid ${pid}, ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
        );
        return 0;
      } catch {
        // the new process is not answering yet
      }
    }
    if (tty) process.stderr.write("\n");
    err(
      `The gateway did not come back within ${timeoutS} s (old pid ${oldPid}); see its log, or hermes gateway status.`,
    );
    return 1;
  },
});

const stop = command({
  name: "gateway stop",
  description: "Drained stop (through systemctl when running under a unit, so systemd does not restart it)",
  args: {
    timeout: {
      type: "string",
      description: "seconds to wait for the process to exit (default: drain timeout + 15)",
      valueHint: "s",
    },
  },
  async run(args) {
    const { controlRequest, isAlive, readState, socketFor } = await import("../../gateway/control.ts");
    const { serviceUnitOf } = await import("../../systemd/unit.ts");
    const home = resolveHome(args.home as string | undefined);
    const saved = readState(home);
    if (!saved || !isAlive(saved.pid)) {
      out(`not running: nothing to stop in ${home}\n`);
      return 0;
    }
    const drain = loadConfig({ home, env: process.env }).config.gateway.drain_timeout / 1000;
    const timeoutS = args.timeout === undefined ? drain + 15 : Number(args.timeout);
    if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
      err(`--timeout must be a number of seconds, not "${String(args.timeout)}"`);
      return 2;
    }
    // A gateway from before the unit was recorded in the state file: ask its cgroup.
    const unit = saved.systemd ?? (saved.invocation_id ? serviceUnitOf(saved.pid) : undefined);
    if (unit) return stopUnit(unit, saved.pid, timeoutS, isAlive);
    try {
      await controlRequest(socketFor(home), "POST", "/admin/stop");
    } catch {
      if (isAlive(saved.pid)) {
        err(`pid ${saved.pid} does not answer on its control socket; send it SIGTERM (kill ${saved.pid}).`);
        return 1;
      }
    }
    const started = Date.now();
    while (isAlive(saved.pid)) {
      if (Date.now() - started > timeoutS * 1000) {
        err(`pid ${saved.pid} did not exit within ${timeoutS} s.`);
        return 1;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    out(`stopped: pid ${saved.pid}, ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return 0;
  },
});

/**
 * Under a unit, the gateway is stopped through systemd: asked directly it would exit 0, and `Restart=always`
 * would start it again. `systemctl stop` sends SIGTERM (a drained stop) and waits for the unit to be down.
 * `HERMES_SYSTEMCTL` names another systemctl program (tests).
 */
async function stopUnit(
  unit: ServiceUnit,
  pid: number,
  timeoutS: number,
  isAlive: (pid: number) => boolean,
): Promise<number> {
  const program = process.env.HERMES_SYSTEMCTL || "systemctl";
  const args = [...(unit.manager === "user" ? ["--user"] : []), "stop", unit.unit];
  const shown = `systemctl ${args.join(" ")}`;
  const tty = process.stderr.isTTY === true;
  if (tty) process.stderr.write(`${shown}: draining pid ${pid}`);
  const started = Date.now();
  const dots = tty ? setInterval(() => process.stderr.write("."), 1000) : undefined;
  const result = await new Promise<{ code: number | null; error?: NodeJS.ErrnoException }>((resolve) => {
    const child = spawn(program, args, { stdio: "inherit" });
    const timer = setTimeout(() => child.kill("SIGTERM"), timeoutS * 1000);
    child.once("error", (error) => {
      clearTimeout(timer);
      resolve({ code: null, error });
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code });
    });
  });
  clearInterval(dots);
  if (tty) process.stderr.write("\n");
  if (result.error) {
    err(
      `Cannot run ${program} (${result.error.code ?? result.error.message}); pid ${pid} runs in ${unit.unit}: stop it with ${shown}.`,
    );
    return 1;
  }
  if (result.code !== 0) {
    err(
      result.code === null
        ? `${shown} did not finish within ${timeoutS} s; systemd goes on stopping ${unit.unit} (see systemctl status).`
        : `${shown} failed (exit ${result.code}); pid ${pid} is ${isAlive(pid) ? "still running" : "gone"}.`,
    );
    return 1;
  }
  // systemctl stop returns once the unit is down; the pid is then gone, or about to be.
  while (isAlive(pid) && Date.now() - started < timeoutS * 1000)
    await new Promise((resolve) => setTimeout(resolve, 100));
  if (isAlive(pid)) {
    err(`${shown} returned, but pid ${pid} is still running.`);
    return 1;
  }
  out(`stopped ${unit.unit} through ${shown}: pid ${pid}, ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return 0;
}

export default group(
  "gateway",
  "Run the gateway, and ask the running one for its status, a restart or a stop",
  {
    run,
    status,
    restart,
    stop,
  },
);
