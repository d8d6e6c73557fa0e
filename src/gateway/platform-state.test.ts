import { describe, expect, it } from "vitest";
import { initialStatus, next, type PlatformEvent } from "./platform-state.ts";

const run = (events: PlatformEvent[]) => {
  let status = initialStatus(0);
  const states = [];
  for (const [i, e] of events.entries()) {
    status = next(status, e, (i + 1) * 1000);
    states.push(status.state);
  }
  return { status, states };
};

describe("platform state transitions", () => {
  it("connect, drop, retry, reconnect: counts attempts and reconnects", () => {
    const { status, states } = run([
      { type: "attempt" },
      { type: "connected" },
      { type: "retry", reason: "socket closed", delayMs: 500 },
      { type: "attempt" },
      { type: "connected" },
    ]);
    expect(states).toEqual(["connecting", "connected", "backoff", "connecting", "connected"]);
    expect(status).toMatchObject({
      attempts: 1,
      reconnects: 1,
      reason: null,
      nextRetryAt: null,
      since: 5000,
    });
  });

  it("backoff carries its reason and when it retries", () => {
    const { status } = run([{ type: "attempt" }, { type: "retry", reason: "ENOTFOUND", delayMs: 750 }]);
    expect(status).toMatchObject({ state: "backoff", reason: "ENOTFOUND", attempts: 1, nextRetryAt: 2750 });
  });

  it("a first connection is not a reconnect; a reset clears the attempts only", () => {
    const { status } = run([
      { type: "attempt" },
      { type: "retry", reason: "x", delayMs: 1 },
      { type: "attempt" },
      { type: "retry", reason: "x", delayMs: 1 },
      { type: "attempt" },
      { type: "connected" },
      { type: "reset" },
    ]);
    expect(status).toMatchObject({ state: "connected", attempts: 0, reconnects: 0, everConnected: true });
  });

  it("failed and disabled keep their reason; stop keeps counters", () => {
    expect(run([{ type: "attempt" }, { type: "fail", reason: "401 Unauthorized" }]).status).toMatchObject({
      state: "failed",
      reason: "401 Unauthorized",
    });
    expect(run([{ type: "disable", reason: "missing-token" }]).status).toMatchObject({
      state: "disabled",
      reason: "missing-token",
    });
    const stopped = run([
      { type: "attempt" },
      { type: "connected" },
      { type: "retry", reason: "x", delayMs: 5 },
      { type: "stop" },
    ]).status;
    expect(stopped).toMatchObject({ state: "stopped", attempts: 1, nextRetryAt: null });
  });

  it("is pure: the previous status is not changed", () => {
    const before = initialStatus(0);
    const frozen = JSON.stringify(before);
    next(before, { type: "connected" }, 10);
    expect(JSON.stringify(before)).toBe(frozen);
  });
});
