/**
 * The systemd notify protocol (sd_notify) without libsystemd: `KEY=value` lines in one datagram to
 * `$NOTIFY_SOCKET`, sent through the runtime's socket (bun:ffi in the compiled binary, Deno.dlopen under Deno;
 * the Node bundle cannot, and says so once). Sending never throws into the gateway: the first failure is
 * logged, later ones are dropped quietly.
 */
import type { GatewayState, LifecycleHooks } from "../gateway/gateway.ts";
import type { Logger } from "../log/logger.ts";
import type { NotifySocket, Runtime } from "../runtime/types.ts";

type Env = Record<string, string | undefined>;

/** One notify datagram: `KEY=value` lines. A value is one line: a newline would start a new assignment. */
export function formatNotify(fields: Record<string, string | number>): string {
  return Object.entries(fields)
    .map(([key, value]) => `${key}=${String(value).replace(/[\r\n]+/g, " ")}`)
    .join("\n");
}

const PLATFORM_STATES = ["connecting", "backoff", "failed", "disabled", "stopped"] as const;

/** The one-line `STATUS=`: "degraded: 2/4 platforms connected, 1 backoff, 1 disabled". */
export function statusLine(state: GatewayState, platforms: readonly string[]): string {
  if (platforms.length === 0) return `${state}: no platforms enabled`;
  const count = (s: string) => platforms.filter((p) => p === s).length;
  const others = PLATFORM_STATES.filter((s) => count(s) > 0).map((s) => `${count(s)} ${s}`);
  const up = `${count("connected")}/${platforms.length} platform${platforms.length === 1 ? "" : "s"} connected`;
  return [`${state}: ${up}`, ...others].join(", ");
}

/**
 * How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC`, as sd_watchdog_enabled(3) advises, and only when
 * `WATCHDOG_PID` is unset or names this process (otherwise the watchdog is meant for another process).
 */
export function watchdogIntervalMs(env: Env, pid: number): number | undefined {
  const usec = env.WATCHDOG_USEC;
  if (!usec || !/^\d+$/.test(usec) || Number(usec) === 0) return undefined;
  if (env.WATCHDOG_PID && env.WATCHDOG_PID !== String(pid)) return undefined;
  return Math.max(1, Math.floor(Number(usec) / 2000));
}

export interface Notifier {
  /** True when `$NOTIFY_SOCKET` is set and this runtime could open a socket to it. */
  readonly enabled: boolean;
  ready(status?: string): void;
  status(text: string): void;
  watchdog(): void;
  stopping(): void;
  close(): void;
}

/**
 * A notifier for `env.NOTIFY_SOCKET`. The socket is opened once, here, and kept for the life of the process;
 * when it cannot be opened (the Node bundle, Deno without --allow-ffi, a malformed address) the reason is logged
 * once and every call is a no-op.
 */
export function createNotifier(env: Env, options: { runtime: Runtime; log: Logger }): Notifier {
  const address = env.NOTIFY_SOCKET;
  const { log } = options;
  let socket: NotifySocket | undefined;
  if (address) {
    try {
      socket = options.runtime.openNotifySocket(address);
    } catch (error) {
      log.warn("systemd.notify", `NOTIFY_SOCKET is set, but ${message(error)}`, {
        runtime: options.runtime.name,
      });
    }
  }
  let failed = false;
  const send = (fields: Record<string, string | number>) => {
    if (!socket) return;
    try {
      socket.send(formatNotify(fields));
    } catch (error) {
      if (failed) return;
      failed = true;
      log.warn("systemd.notify", `cannot notify systemd: ${message(error)}; later failures are not logged`);
    }
  };
  return {
    enabled: socket !== undefined,
    ready: (status) => send(status === undefined ? { READY: "1" } : { READY: "1", STATUS: status }),
    status: (text) => send({ STATUS: text }),
    watchdog: () => send({ WATCHDOG: "1" }),
    stopping: () => send({ STOPPING: "1" }),
    close() {
      socket?.close();
      socket = undefined;
    },
  };
}

/** A burst of state changes becomes one `STATUS=` datagram carrying the last line. */
export const STATUS_COALESCE_MS = 100;
/**
 * `alive()` comes from the gateway's 500 ms tick; a ping goes out only if the last one is this recent, so a tick
 * that stopped (supervision no longer running) starves the watchdog even while the event loop still turns.
 */
export const ALIVE_STALE_MS = 1_500;

/**
 * The gateway's lifecycle hooks, spoken to systemd: `READY=1` with `STATUS=` once it serves, `STATUS=` on every
 * change (coalesced), `STOPPING=1` when a stop begins, and `WATCHDOG=1` every `WATCHDOG_USEC/2`.
 *
 * The watchdog timer runs on the main event loop, never in a worker: a wedged loop sends nothing, and systemd
 * kills the process (SIGABRT) and restarts it, which is the point. It pings only while the gateway's liveness
 * tick (`alive()`) is fresh.
 *
 * A reload (SIGHUP) sends only `STATUS=`: `RELOADING=1` (with `MONOTONIC_USEC=`, then `READY=1`) belongs to
 * Type=notify-reload, new in systemd 253; our units are Type=notify for 252, where a stray `RELOADING=1` would
 * move the unit into a reload state of its own.
 */
export function systemdHooks(notifier: Notifier, options: { env: Env; pid: number; log: Logger }) {
  const intervalMs = watchdogIntervalMs(options.env, options.pid);
  let latest: string | undefined;
  let sent: string | undefined;
  // STATUS= is sent once READY=1 carried the first line (or a stop began without it).
  let statusFlows = false;
  let lastAlive = 0;
  let statusTimer: ReturnType<typeof setTimeout> | undefined;
  let watchdogTimer: ReturnType<typeof setInterval> | undefined;

  const flushStatus = () => {
    statusTimer = undefined;
    if (latest === undefined || latest === sent) return;
    sent = latest;
    notifier.status(latest);
  };
  const stopTimers = () => {
    clearTimeout(statusTimer);
    clearInterval(watchdogTimer);
    statusTimer = watchdogTimer = undefined;
  };

  const hooks: LifecycleHooks & { close(): void } = {
    ready() {
      statusFlows = true;
      lastAlive = Date.now();
      clearTimeout(statusTimer);
      statusTimer = undefined;
      sent = latest;
      notifier.ready(latest);
      if (intervalMs === undefined) return;
      options.log.debug("systemd.watchdog", `feeding the systemd watchdog every ${intervalMs} ms`);
      watchdogTimer = setInterval(() => {
        if (Date.now() - lastAlive <= ALIVE_STALE_MS) notifier.watchdog();
      }, intervalMs);
      // The gateway's servers keep the process alive; this timer must never be what does.
      watchdogTimer.unref?.();
    },
    status(line) {
      latest = line;
      if (!statusFlows || statusTimer) return;
      statusTimer = setTimeout(flushStatus, STATUS_COALESCE_MS);
      statusTimer.unref?.();
    },
    alive() {
      lastAlive = Date.now();
    },
    stopping() {
      // After STOPPING=1 systemd no longer expects pings; its stop timeout governs the drain instead.
      stopTimers();
      notifier.stopping();
      statusFlows = true;
    },
    close: stopTimers,
  };
  return hooks;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
