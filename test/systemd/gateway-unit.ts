/**
 * The gateway under the unit hermes generates, inside a systemd sandbox: dist/hermes bound read-only at
 * /opt/hermes/hermes, HERMES_HOME a host temp dir bound at /srv/hermes-home (the test writes config.yaml and
 * .env there and reaches the control socket through it), the host's network shared so that the test talks to
 * 127.0.0.1:PORT directly and the gateway reaches receivers the test runs. The unit runs dist/hermes, or, with
 * `testPlatforms`, the same CLI from source with the test platforms registered (test/gateway/harness.ts under
 * the project's Bun). No vitest import: the bench uses it.
 */
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { controlRequest } from "../../src/gateway/control.ts";
import { sign } from "../../src/platforms/webhook/signature.ts";
import { freePort } from "../helpers/wait.ts";

export { freePort };

import {
  type Bind,
  generatedUnit,
  restartBySignal,
  SANDBOX_BINARY,
  SANDBOX_HOME,
  Sandbox,
  timingDropIn,
  UNIT_NAME,
  UNIT_STATE_PROPS,
  startToReadyMs as unitStartToReadyMs,
  until,
  waitAutoRestart as waitUnitAutoRestart,
  writeHome,
} from "./harness.ts";

const ROOT = join(import.meta.dirname, "..", "..");
export const BINARY = join(ROOT, "dist", "hermes");
export const SECRET = "3f9a1c7e5b2d8f4a6c0e9b7d5f3a1c8e";
/** RestartSec of the test drop-in. */
export const RESTART_SEC = 2;

/**
 * The unit's program with `testPlatforms`: test/systemd/hermes-test-platforms.sh, which execs the project's Bun
 * on test/gateway/harness.ts (exec keeps the pid, so NotifyAccess=main still names the gateway). It is passed to
 * install-service as --binary, so the unit is still the generated one.
 */
export const SANDBOX_TEST_PLATFORMS = "/opt/hermes/hermes-test-platforms";

/**
 * What the test-platform program needs, read-only: the wrapper, the source tree (its node_modules link
 * resolves through the sandbox's read-only view of the host's root) and the real Bun executable, not the
 * node_modules/.bin link, so that the process is Bun itself.
 */
function testPlatformBinds(): Bind[] {
  return [
    { source: join(import.meta.dirname, "hermes-test-platforms.sh"), target: SANDBOX_TEST_PLATFORMS },
    { source: ROOT, target: "/opt/hermes-src" },
    { source: realpathSync(join(ROOT, "node_modules", ".bin", "bun")), target: "/opt/bun/bun" },
  ].map((b) => ({ ...b, readOnly: true }));
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
  /** Run the CLI with the test platforms (test/gateway/test-platforms.ts) instead of dist/hermes. */
  testPlatforms?: boolean;
  /** More host paths to bind into the sandbox (below /opt or /srv, which are tmpfs there). */
  binds?: Bind[];
}

export class GatewayUnit {
  private constructor(
    readonly sb: Sandbox,
    /** HERMES_HOME on the host (it is /srv/hermes-home inside). */
    readonly home: string,
    readonly port: number,
    /** The unit file as install-service generated it (the test drop-in comes on top). */
    readonly unitText: string,
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
          ...(options.testPlatforms ? testPlatformBinds() : []),
          ...(options.binds ?? []),
        ],
      });
      // With the test platforms, that program renders its own unit: only it can lint a config that names them.
      const unit = await generatedUnit(
        sb,
        options.testPlatforms ? { hermes: SANDBOX_TEST_PLATFORMS, execStart: SANDBOX_TEST_PLATFORMS } : {},
      );
      await sb.writeUnit(UNIT_NAME, unit, {
        "50-test-timings.conf": timingDropIn({ timeoutStopS: (options.drainS ?? 2) + 10 + 5 }),
      });
      // Enabled as install-service leaves it: multi-user.target then holds it, so a stopped unit keeps its
      // state (ExecMainStatus, NRestarts) instead of being unloaded.
      const enable = await sb.systemctl("enable", UNIT_NAME);
      if (enable.code !== 0) throw new Error(`systemctl enable failed: ${enable.stderr.trim()}`);
      return new GatewayUnit(sb, home, port, unit);
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
    return this.sb.show(UNIT_NAME, UNIT_STATE_PROPS) as Promise<unknown> as Promise<UnitState>;
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

/**
 * Sends SIGUSR1 to the gateway's main process and follows the restart (harness.ts `restartBySignal`); up means
 * active with a new main process that answers on its control socket.
 */
export function signalRestart(gu: GatewayUnit) {
  return restartBySignal(gu.sb, UNIT_NAME, RESTART_SEC, (notPid) => gu.waitUp({ notPid }));
}

/** Waits for the gateway's unit to sit in auto-restart (RestartSec), and returns the finished run's status. */
export function waitAutoRestart(gu: GatewayUnit, timeoutMs = 20_000): Promise<Record<string, string>> {
  return waitUnitAutoRestart(gu.sb, UNIT_NAME, timeoutMs);
}

/** Process start → active of the gateway's unit, as systemd timed it (READY=1). */
export function startToReadyMs(gu: GatewayUnit): Promise<number> {
  return unitStartToReadyMs(gu.sb, UNIT_NAME);
}
