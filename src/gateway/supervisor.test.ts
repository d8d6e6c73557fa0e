import { describe, expect, it } from "vitest";
import { silentLogger } from "../log/logger.ts";
import { type Adapter, type AdapterContext, PlatformError } from "../platforms/adapter.ts";
import { definePlatform } from "../platforms/manifest.ts";
import type { PlatformStatus } from "./platform-state.ts";
import { Supervisor } from "./supervisor.ts";

const manifest = (livenessMs: number | null) =>
  definePlatform({
    name: "fake",
    title: "Fake",
    envPrefix: "FAKE",
    credentials: [],
    transport: { receive: "test", modes: ["test"], webhook: false },
    gatewayUrl: false,
    messageLimit: 100,
    livenessMs,
    chat: true,
    options: {},
  });

function supervise(
  behaviour: (ctx: AdapterContext, attempt: number) => Promise<void>,
  livenessMs: number | null = null,
) {
  const transitions: PlatformStatus[] = [];
  const signals: AbortSignal[] = [];
  let attempt = 0;
  const supervisor = new Supervisor({
    manifest: manifest(livenessMs),
    block: { require_mention: false },
    credentials: {},
    reconnect: { initialMs: 5, maxMs: 20 },
    failureThreshold: 2,
    load:
      async () =>
      (ctx): Adapter => {
        signals.push(ctx.signal);
        const n = ++attempt;
        return { run: () => behaviour(ctx, n), send: async () => {} };
      },
    log: silentLogger,
    onTransition: (status) => transitions.push(status),
    receive: async () => ({ status: "accepted", id: "x" }),
    random: () => 0.5,
  });
  return { supervisor, transitions, signals, attempts: () => attempt };
}

const until = async (what: string, check: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe("Supervisor", () => {
  it("notices a receive loop that returns, backs off, reconnects, and aborts every finished attempt", async () => {
    const s = supervise(async (ctx) => {
      ctx.connected();
      await new Promise((r) => setTimeout(r, 5));
    });
    s.supervisor.start();
    await until("three attempts", () => s.attempts() >= 3);
    const states = s.transitions.map((t) => t.state);
    expect(states.slice(0, 4)).toEqual(["connecting", "connected", "backoff", "connecting"]);
    expect(s.transitions.find((t) => t.state === "backoff")?.reason).toBe(
      "the receive loop ended without an error",
    );
    await s.supervisor.stop();
    expect(s.supervisor.status.state).toBe("stopped");
    expect(s.signals.every((sig) => sig.aborted)).toBe(true);
    expect(s.supervisor.status.reconnects).toBeGreaterThanOrEqual(2);
  });

  it("a connection that stayed up restarts the backoff from the first step, without a transition of its own", async () => {
    // Up for 40 ms, longer than reconnect.max (20 ms) here: stable, so the count of failed attempts starts over.
    const s = supervise(async (ctx) => {
      ctx.connected();
      await new Promise((r) => setTimeout(r, 40));
      throw new Error("dropped");
    });
    s.supervisor.start();
    await until("three attempts", () => s.attempts() >= 3);
    await s.supervisor.stop();
    const states = s.transitions.map((t) => t.state);
    expect(states.slice(0, 6)).toEqual([
      "connecting",
      "connected",
      "backoff",
      "connecting",
      "connected",
      "backoff",
    ]);
    for (const backoff of s.transitions.filter((t) => t.state === "backoff"))
      expect(backoff.attempts).toBe(1);
  });

  it("retries a thrown error forever, honouring retry_after, and never gives up", async () => {
    const s = supervise(async (_ctx, n) => {
      throw n === 1 ? new PlatformError("rate_limit", "429", 40) : new Error(`attempt ${n} failed`);
    });
    s.supervisor.start();
    await until("twenty attempts", () => s.attempts() >= 20);
    const first = s.transitions.find((t) => t.state === "backoff")!;
    expect(first.nextRetryAt! - first.since).toBe(40);
    expect(s.supervisor.status.state).not.toBe("failed");
    await s.supervisor.stop();
  });

  it("a failure with its own backoff cap is retried within it, below reconnect.max", async () => {
    const s = supervise(async () => {
      throw new PlatformError("transient", "409 conflict", undefined, { backoffCapMs: 8 });
    });
    s.supervisor.start();
    await until("ten attempts", () => s.attempts() >= 10);
    const delays = s.transitions.filter((t) => t.state === "backoff").map((t) => t.nextRetryAt! - t.since);
    // reconnect.max is 20 ms here: without the cap, later delays would reach 10 to 20 ms.
    expect(Math.max(...delays)).toBeLessThanOrEqual(8);
    expect(s.supervisor.status.state).not.toBe("failed");
    await s.supervisor.stop();
  });

  it("credentials refused is failed, until retryNow", async () => {
    const s = supervise(async (ctx, n) => {
      if (n === 1) throw new PlatformError("auth", "401 Unauthorized");
      ctx.connected();
      await new Promise<void>((r) => ctx.signal.addEventListener("abort", () => r()));
    });
    s.supervisor.start();
    await until("failed", () => s.supervisor.status.state === "failed");
    expect(s.supervisor.status.reason).toBe("401 Unauthorized");
    await new Promise((r) => setTimeout(r, 60));
    expect(s.attempts()).toBe(1);
    s.supervisor.retryNow();
    await until("connected", () => s.supervisor.status.state === "connected");
    await s.supervisor.stop();
  });

  it("the watchdog tears down an adapter that shows no progress past its limit", async () => {
    const s = supervise(async (ctx) => {
      ctx.connected();
      await new Promise<void>((r) => ctx.signal.addEventListener("abort", () => r()));
    }, 30);
    s.supervisor.start();
    await until("connected", () => s.supervisor.status.state === "connected");
    s.supervisor.checkLiveness(Date.now() + 10);
    expect(s.supervisor.status.state).toBe("connected");
    s.supervisor.checkLiveness(Date.now() + 100);
    expect(s.supervisor.status.state).toBe("connected"); // one failed check is below the threshold
    s.supervisor.checkLiveness(Date.now() + 100);
    await until("backoff", () => s.transitions.some((t) => t.state === "backoff"));
    expect(s.transitions.find((t) => t.state === "backoff")?.reason).toMatch(
      /^no progress for \d+\.\d s \(liveness limit 0\.03 s\)$/,
    );
    expect(s.signals[0]?.aborted).toBe(true);
    await until("reconnected", () => s.supervisor.status.reconnects >= 1);
    await s.supervisor.stop();
  });

  it("progress keeps a quiet but healthy adapter alive", async () => {
    const s = supervise(async (ctx) => {
      ctx.connected();
      const timer = setInterval(() => ctx.progress(), 5);
      await new Promise<void>((r) => ctx.signal.addEventListener("abort", () => r()));
      clearInterval(timer);
    }, 50);
    s.supervisor.start();
    await until("connected", () => s.supervisor.status.state === "connected");
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 20));
      s.supervisor.checkLiveness(Date.now());
    }
    expect(s.transitions.filter((t) => t.state === "backoff")).toEqual([]);
    await s.supervisor.stop();
  });

  it("a disabled platform never starts", async () => {
    const s = supervise(async () => {});
    s.supervisor.disable("missing-token: FAKE_TOKEN is not set");
    expect(s.supervisor.status).toMatchObject({
      state: "disabled",
      reason: "missing-token: FAKE_TOKEN is not set",
    });
    expect(s.attempts()).toBe(0);
  });
});
