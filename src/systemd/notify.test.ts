import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLogger, type LogRecord } from "../log/logger.ts";
import type { NotifySocket, Runtime } from "../runtime/types.ts";
import {
  ALIVE_STALE_MS,
  createNotifier,
  formatNotify,
  type Notifier,
  STATUS_COALESCE_MS,
  statusLine,
  systemdHooks,
  watchdogIntervalMs,
} from "./notify.ts";

function capture() {
  const records: LogRecord[] = [];
  const log = createLogger({ level: "debug", json: true, write: () => {}, capture: (r) => records.push(r) });
  return { log, records };
}

describe("formatNotify", () => {
  it("writes KEY=value lines in order", () => {
    expect(formatNotify({ READY: "1", STATUS: "running: 1/1 platform connected" })).toBe(
      "READY=1\nSTATUS=running: 1/1 platform connected",
    );
    expect(formatNotify({ WATCHDOG: 1 })).toBe("WATCHDOG=1");
  });

  it("keeps a value on one line, so it cannot smuggle in another assignment", () => {
    expect(formatNotify({ STATUS: "bad\nREADY=1\r\nx" })).toBe("STATUS=bad READY=1 x");
  });
});

describe("statusLine", () => {
  it("no platforms", () => {
    expect(statusLine("running", [])).toBe("running: no platforms enabled");
  });

  it("counts connected out of all, then the others in a fixed order", () => {
    expect(statusLine("running", ["connected", "connected", "connected"])).toBe(
      "running: 3/3 platforms connected",
    );
    expect(statusLine("degraded", ["disabled", "connected", "backoff", "connected", "disabled"])).toBe(
      "degraded: 2/5 platforms connected, 1 backoff, 2 disabled",
    );
    expect(statusLine("starting", ["connecting"])).toBe("starting: 0/1 platform connected, 1 connecting");
  });
});

describe("watchdogIntervalMs", () => {
  it("is half of WATCHDOG_USEC, in milliseconds", () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "60000000" }, 42)).toBe(30_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "200000" }, 42)).toBe(100);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "1" }, 42)).toBe(1);
  });

  it("only when WATCHDOG_PID is unset or names this process", () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "200000", WATCHDOG_PID: "42" }, 42)).toBe(100);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "200000", WATCHDOG_PID: "43" }, 42)).toBeUndefined();
  });

  it("off when unset, zero or not a number", () => {
    for (const usec of [undefined, "", "0", "-5", "1e6", "soon"])
      expect(watchdogIntervalMs({ WATCHDOG_USEC: usec }, 42), String(usec)).toBeUndefined();
  });
});

function fakeRuntime(socket: NotifySocket | Error): { runtime: Runtime; opened: string[] } {
  const opened: string[] = [];
  const runtime = {
    name: "bun",
    openNotifySocket(address: string) {
      opened.push(address);
      if (socket instanceof Error) throw socket;
      return socket;
    },
  } as unknown as Runtime;
  return { runtime, opened };
}

describe("createNotifier", () => {
  it("without NOTIFY_SOCKET: disabled, opens nothing, logs nothing", () => {
    const { log, records } = capture();
    const fake = fakeRuntime(new Error("must not be called"));
    const notifier = createNotifier({}, { runtime: fake.runtime, log });
    notifier.ready("x");
    expect(notifier.enabled).toBe(false);
    expect(fake.opened).toEqual([]);
    expect(records).toEqual([]);
  });

  it("sends each call as one datagram", () => {
    const sent: string[] = [];
    const fake = fakeRuntime({ send: (m) => sent.push(m), close() {} });
    const notifier = createNotifier({ NOTIFY_SOCKET: "@sd" }, { runtime: fake.runtime, log: capture().log });
    notifier.ready("running: 1/1 platform connected");
    notifier.status("degraded");
    notifier.watchdog();
    notifier.stopping();
    expect(fake.opened).toEqual(["@sd"]);
    expect(notifier.enabled).toBe(true);
    expect(sent).toEqual([
      "READY=1\nSTATUS=running: 1/1 platform connected",
      "STATUS=degraded",
      "WATCHDOG=1",
      "STOPPING=1",
    ]);
  });

  it("a runtime that cannot open the socket: one warning with its reason, then quiet no-ops", () => {
    const { log, records } = capture();
    const fake = fakeRuntime(new Error("the Node bundle cannot notify systemd"));
    const notifier = createNotifier({ NOTIFY_SOCKET: "/run/n" }, { runtime: fake.runtime, log });
    notifier.ready();
    notifier.watchdog();
    expect(notifier.enabled).toBe(false);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      level: "warn",
      event: "systemd.notify",
      msg: "NOTIFY_SOCKET is set, but the Node bundle cannot notify systemd",
    });
  });

  it("failing sends never throw into the caller and are logged once", () => {
    const { log, records } = capture();
    let attempts = 0;
    const fake = fakeRuntime({
      send() {
        attempts++;
        throw new Error("sending to /run/n failed: errno 11 (EAGAIN)");
      },
      close() {},
    });
    const notifier = createNotifier({ NOTIFY_SOCKET: "/run/n" }, { runtime: fake.runtime, log });
    for (let i = 0; i < 5; i++) expect(() => notifier.watchdog()).not.toThrow();
    expect(attempts).toBe(5);
    expect(records.map((r) => r.msg)).toEqual([
      "cannot notify systemd: sending to /run/n failed: errno 11 (EAGAIN); later failures are not logged",
    ]);
  });
});

describe("systemdHooks", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function recorder(): Notifier & { calls: string[] } {
    const calls: string[] = [];
    return {
      calls,
      enabled: true,
      ready: (status) => calls.push(`READY ${status}`),
      status: (text) => calls.push(`STATUS ${text}`),
      watchdog: () => calls.push("WATCHDOG"),
      stopping: () => calls.push("STOPPING"),
      close() {},
    };
  }
  const env = { WATCHDOG_USEC: "200000" };
  const pings = (n: { calls: string[] }) => n.calls.filter((c) => c === "WATCHDOG").length;

  it("READY carries the latest status; later lines are coalesced and repeats dropped", () => {
    const n = recorder();
    const hooks = systemdHooks(n, { env: {}, pid: 1, log: capture().log });
    hooks.status("starting: 0/1 platform connected, 1 connecting");
    hooks.status("running: 1/1 platform connected");
    expect(n.calls).toEqual([]);
    hooks.ready();
    expect(n.calls).toEqual(["READY running: 1/1 platform connected"]);
    hooks.status("running: 1/1 platform connected");
    vi.advanceTimersByTime(STATUS_COALESCE_MS * 2);
    expect(n.calls).toHaveLength(1);
    hooks.status("degraded: 0/1 platform connected, 1 backoff");
    hooks.status("running: 1/1 platform connected");
    hooks.status("degraded: 0/1 platform connected, 1 failed");
    vi.advanceTimersByTime(STATUS_COALESCE_MS);
    expect(n.calls.slice(1)).toEqual(["STATUS degraded: 0/1 platform connected, 1 failed"]);
  });

  it("pings every WATCHDOG_USEC/2 while alive() keeps coming, and stops when it does not", () => {
    const n = recorder();
    const hooks = systemdHooks(n, { env, pid: 1, log: capture().log });
    hooks.ready();
    for (let t = 0; t < 2000; t += 500) {
      hooks.alive();
      vi.advanceTimersByTime(500);
    }
    expect(pings(n)).toBe(20);
    // The liveness tick stopped (supervision halted) while timers still run: pings end once it is stale.
    vi.advanceTimersByTime(ALIVE_STALE_MS + 1000);
    const afterStale = pings(n);
    expect(afterStale).toBeLessThanOrEqual(20 + ALIVE_STALE_MS / 100);
    vi.advanceTimersByTime(5000);
    expect(pings(n)).toBe(afterStale);
    hooks.alive();
    vi.advanceTimersByTime(100);
    expect(pings(n)).toBe(afterStale + 1);
    hooks.close();
  });

  it("no pings before READY, none for another WATCHDOG_PID, none after STOPPING", () => {
    const other = recorder();
    const notMine = systemdHooks(other, { env: { ...env, WATCHDOG_PID: "2" }, pid: 1, log: capture().log });
    notMine.ready();
    notMine.alive();
    vi.advanceTimersByTime(1000);
    expect(pings(other)).toBe(0);

    const n = recorder();
    const hooks = systemdHooks(n, { env: { ...env, WATCHDOG_PID: "1" }, pid: 1, log: capture().log });
    hooks.alive();
    vi.advanceTimersByTime(1000);
    expect(pings(n)).toBe(0);
    hooks.ready();
    vi.advanceTimersByTime(250);
    expect(pings(n)).toBe(2);
    hooks.stopping();
    hooks.status("draining: 1/1 platform connected");
    hooks.alive();
    vi.advanceTimersByTime(1000);
    expect(pings(n)).toBe(2);
    expect(n.calls.slice(-2)).toEqual(["STOPPING", "STATUS draining: 1/1 platform connected"]);
  });
});
