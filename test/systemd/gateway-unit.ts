/**
 * The compiled gateway under the unit hermes generates, inside a systemd sandbox: dist/hermes bound read-only
 * at /opt/hermes/hermes, HERMES_HOME a host temp dir bound at /srv/hermes-home (the test writes config.yaml and
 * .env there and reaches the control socket through it), the host's network shared so that the test talks to
 * 127.0.0.1:PORT directly and the gateway reaches receivers the test runs. No vitest import: the bench uses it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { controlRequest } from "../../src/gateway/control.ts";
import { sign } from "../../src/platforms/webhook/signature.ts";
import {
  generatedUnit,
  NO_SD_NOTIFY_DROP_IN,
  SANDBOX_BINARY,
  SANDBOX_HOME,
  Sandbox,
  speaksSdNotify,
  timingDropIn,
  UNIT_NAME,
  until,
  writeHome,
} from "./harness.ts";

export const BINARY = join(import.meta.dirname, "..", "..", "dist", "hermes");
export const SECRET = "3f9a1c7e5b2d8f4a6c0e9b7d5f3a1c8e";
/** RestartSec of the test drop-in. */
export const RESTART_SEC = 2;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface UnitState {
  ActiveState: string;
  SubState: string;
  MainPID: string;
  NRestarts: string;
  Result: string;
  ExecMainStatus: string;
  ExecMainCode: string;
}
const STATE_PROPS = [
  "ActiveState",
  "SubState",
  "MainPID",
  "NRestarts",
  "Result",
  "ExecMainStatus",
  "ExecMainCode",
];

export interface GatewayStatus {
  pid: number;
  state: string;
  platforms: Record<string, { state: string; reason: string | null }>;
}

export interface GatewayUnitOptions {
  name: string;
  /** config.yaml, given the HTTP port the gateway listens on. */
  config: (port: number) => string;
  env?: string;
  maxLifeS?: number;
  /** drain_timeout of the config, in seconds: TimeoutStopSec is set above drain + 10 s. */
  drainS?: number;
}

export class GatewayUnit {
  private constructor(
    readonly sb: Sandbox,
    /** HERMES_HOME on the host (it is /srv/hermes-home inside). */
    readonly home: string,
    readonly port: number,
    readonly unitSource: "install-service" | "temporary",
    /** Whether the unit runs as generated (Type=notify) or with the temporary Type=simple drop-in. */
    readonly notify: boolean,
  ) {}

  static async create(options: GatewayUnitOptions): Promise<GatewayUnit> {
    const port = await freePort();
    const home = mkdtempSync(join(tmpdir(), "hermes-sd-"));
    writeHome(home, {
      "config.yaml": options.config(port),
      ".env": options.env ?? `WEBHOOK_SECRET=${SECRET}\n`,
    });
    let sb: Sandbox | undefined;
    try {
      sb = await Sandbox.start({
        name: options.name,
        maxLifeS: options.maxLifeS ?? 120,
        shareNet: true,
        tmpfs: ["/opt", "/srv"],
        binds: [
          { source: BINARY, target: SANDBOX_BINARY, readOnly: true },
          { source: home, target: SANDBOX_HOME },
        ],
      });
      const unit = await generatedUnit(sb);
      const notify = speaksSdNotify(BINARY);
      const dropIns: Record<string, string> = {
        "50-test-timings.conf": timingDropIn({ timeoutStopS: (options.drainS ?? 2) + 10 + 5 }),
      };
      // TODO(sd_notify): remove with NO_SD_NOTIFY_DROP_IN once hermes sends READY=1 and WATCHDOG=1.
      if (!notify) dropIns["90-TEMPORARY-no-sd-notify.conf"] = NO_SD_NOTIFY_DROP_IN;
      await sb.writeUnit(UNIT_NAME, unit.text, dropIns);
      // Enabled as install-service leaves it: multi-user.target then holds it, so a stopped unit keeps its
      // state (ExecMainStatus, NRestarts) instead of being unloaded.
      const enable = await sb.systemctl("enable", UNIT_NAME);
      if (enable.code !== 0) throw new Error(`systemctl enable failed: ${enable.stderr.trim()}`);
      return new GatewayUnit(sb, home, port, unit.source, notify);
    } catch (error) {
      await sb?.stop();
      rmSync(home, { recursive: true, force: true });
      throw error;
    }
  }

  async dispose(): Promise<void> {
    try {
      await this.sb.stop();
    } finally {
      rmSync(this.home, { recursive: true, force: true });
    }
  }

  state(): Promise<UnitState> {
    return this.sb.show(UNIT_NAME, STATE_PROPS) as Promise<unknown> as Promise<UnitState>;
  }

  show(props: string[]): Promise<Record<string, string>> {
    return this.sb.show(UNIT_NAME, props);
  }

  systemctl(verb: string, ...args: string[]) {
    return this.sb.systemctl(verb, ...args, UNIT_NAME);
  }

  journal(): Promise<string[]> {
    return this.sb.journal(UNIT_NAME);
  }

  /** The gateway's status over its control socket, reached through the bound home. */
  async status(): Promise<GatewayStatus> {
    const response = await controlRequest(join(this.home, "run", "gateway.sock"), "GET", "/status", 2000);
    if (response.status !== 200) throw new Error(`GET /status answered ${response.status}`);
    return response.body as GatewayStatus;
  }

  control(method: "GET" | "POST", path: string) {
    return controlRequest(join(this.home, "run", "gateway.sock"), method, path, 2000);
  }

  /**
   * Waits until the unit is active with a main process other than `notPid`, and that process answers on its
   * control socket as running or degraded. Returns the unit state and the gateway status.
   */
  async waitUp(
    options: { notPid?: string; timeoutMs?: number } = {},
  ): Promise<{ unit: UnitState; gateway: GatewayStatus }> {
    return until(
      "the gateway unit to be up",
      async () => {
        const unit = await this.state();
        if (unit.ActiveState !== "active" || unit.SubState !== "running" || unit.MainPID === "0")
          return undefined;
        if (unit.MainPID === options.notPid) return undefined;
        const gateway = await this.status();
        if (String(gateway.pid) !== unit.MainPID) return undefined;
        return gateway.state === "running" || gateway.state === "degraded" ? { unit, gateway } : undefined;
      },
      options.timeoutMs ?? 20_000,
    );
  }

  /** Starts the unit (systemctl start waits for READY under Type=notify) and waits until it answers. */
  async start(): Promise<{ unit: UnitState; gateway: GatewayStatus }> {
    const started = await this.systemctl("start");
    if (started.code !== 0)
      throw new Error(
        `systemctl start failed: ${started.stderr.trim()}\n${(await this.journal()).join("\n")}`,
      );
    return this.waitUp();
  }

  /** The host pid of the unit's main process. */
  async hostMainPid(): Promise<number> {
    const { MainPID } = await this.state();
    const pid = await this.sb.hostPid(UNIT_NAME, Number(MainPID));
    if (pid === undefined) throw new Error(`no host pid for main pid ${MainPID}`);
    return pid;
  }

  /** POSTs a signed message to the webhook platform. */
  post(message: { chat_id: string; user_id: string; text: string; message_id: string }): Promise<Response> {
    const body = JSON.stringify(message);
    return fetch(`http://127.0.0.1:${this.port}/webhooks/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-hermes-signature": sign(SECRET, body) },
      body,
      signal: AbortSignal.timeout(5000),
    });
  }
}

/** config.yaml with the webhook platform replying to `replyUrl`; `agent` and more `platforms` lines as given. */
export function webhookConfig(options: {
  replyUrl: string;
  drainS?: number;
  agent?: string;
  platforms?: string;
}): (port: number) => string {
  return (port) => `gateway:
  http: { listen: "127.0.0.1:${port}" }
  drain_timeout: ${options.drainS ?? 2}s
${options.agent ?? ""}platforms:
  webhook:
    allowed_users: [u1]
    home_channel: ops
    reply_url: ${options.replyUrl}
${options.platforms ?? ""}`;
}

export interface RestartTiming {
  /** Signal → the old process exited (its drain and shutdown). */
  exitMs: number;
  /** Old exit → new process started (RestartSec plus systemd's timer slack). */
  restartDelayMs: number;
  /** New process started → active (READY under Type=notify; the fork under the Type=simple stand-in). */
  readyMs: number;
  /** Signal → active again, minus the drain (exitMs) and RestartSec: what a restart costs beyond policy. */
  overheadMs: number;
}

/**
 * Sends SIGUSR1 to the main process (`systemctl kill`) and follows the restart: the old run's exit status is read
 * while the unit waits RestartSec, then the new run's timestamps once it is up. Every time comes from systemd's
 * clock (the journal's line for the signal, the unit's *TimestampMonotonic properties).
 */
export async function signalRestart(gu: GatewayUnit): Promise<{
  exited: Record<string, string>;
  up: { unit: UnitState; gateway: GatewayStatus };
  timing: RestartTiming;
}> {
  const before = await gu.state();
  const sentLines = async () =>
    (await gu.sb.journalEntries(UNIT_NAME)).filter((e) =>
      /Sent signal SIGUSR1 to main process/.test(e.message),
    );
  const earlier = (await sentLines()).length;
  const kill = await gu.systemctl("kill", "--kill-who=main", "-s", "SIGUSR1");
  if (kill.code !== 0) throw new Error(`systemctl kill failed: ${kill.stderr.trim()}`);
  const exited = await waitAutoRestart(gu);
  const up = await gu.waitUp({ notPid: before.MainPID });
  const after = await gu.show(["ExecMainStartTimestampMonotonic", "ActiveEnterTimestampMonotonic"]);
  const sent = await until("the journal line of the signal", async () => (await sentLines())[earlier], 5_000);
  const sentUs = sent.monotonicUs;
  const exitUs = Number(exited.ExecMainExitTimestampMonotonic);
  const startUs = Number(after.ExecMainStartTimestampMonotonic);
  const activeUs = Number(after.ActiveEnterTimestampMonotonic);
  return {
    exited,
    up,
    timing: {
      exitMs: (exitUs - sentUs) / 1000,
      restartDelayMs: (startUs - exitUs) / 1000,
      readyMs: (activeUs - startUs) / 1000,
      overheadMs: (activeUs - exitUs) / 1000 - RESTART_SEC * 1000,
    },
  };
}

/** Waits for the unit to sit in auto-restart (RestartSec), and returns the finished run's status. */
export function waitAutoRestart(gu: GatewayUnit, timeoutMs = 20_000): Promise<Record<string, string>> {
  return until(
    "the unit to wait RestartSec before restarting",
    async () => {
      const s = await gu.show([...STATE_PROPS, "ExecMainExitTimestampMonotonic"]);
      return s.SubState === "auto-restart" ? s : undefined;
    },
    timeoutMs,
    50,
  );
}

/** Process start → active, as systemd timed it (READY=1 under Type=notify). */
export async function startToReadyMs(gu: GatewayUnit): Promise<number> {
  const s = await gu.show(["ExecMainStartTimestampMonotonic", "ActiveEnterTimestampMonotonic"]);
  return (Number(s.ActiveEnterTimestampMonotonic) - Number(s.ExecMainStartTimestampMonotonic)) / 1000;
}
