/**
 * Platform state as a pure transition function. Only the supervisor applies it; the gateway then logs the
 * transition once, writes state/gateway.json and counts it.
 */
export type PlatformStateName = "disabled" | "connecting" | "connected" | "backoff" | "failed" | "stopped";

export interface PlatformStatus {
  state: PlatformStateName;
  since: number;
  reason: string | null;
  /** Failed attempts since the last stable connection. */
  attempts: number;
  /** Connections re-established after one was lost. */
  reconnects: number;
  nextRetryAt: number | null;
  /** The platform was connected at least once (a later connect is a reconnect). */
  everConnected: boolean;
}

export type PlatformEvent =
  | { type: "disable"; reason: string }
  | { type: "attempt" }
  | { type: "connected" }
  | { type: "retry"; reason: string; delayMs: number }
  | { type: "reset" }
  | { type: "fail"; reason: string }
  | { type: "stop" };

export function initialStatus(now: number): PlatformStatus {
  return {
    state: "stopped",
    since: now,
    reason: null,
    attempts: 0,
    reconnects: 0,
    nextRetryAt: null,
    everConnected: false,
  };
}

export function next(prev: PlatformStatus, event: PlatformEvent, now: number): PlatformStatus {
  switch (event.type) {
    case "disable":
      return { ...prev, state: "disabled", since: now, reason: event.reason, nextRetryAt: null };
    case "attempt":
      return { ...prev, state: "connecting", since: now, nextRetryAt: null };
    case "connected":
      return {
        ...prev,
        state: "connected",
        since: now,
        reason: null,
        nextRetryAt: null,
        reconnects: prev.everConnected ? prev.reconnects + 1 : prev.reconnects,
        everConnected: true,
      };
    case "retry":
      return {
        ...prev,
        state: "backoff",
        since: now,
        reason: event.reason,
        attempts: prev.attempts + 1,
        nextRetryAt: now + event.delayMs,
      };
    case "reset":
      // A connection that stayed up long enough: the next failure starts the backoff from the beginning.
      return { ...prev, attempts: 0 };
    case "fail":
      return { ...prev, state: "failed", since: now, reason: event.reason, nextRetryAt: null };
    case "stop":
      return { ...prev, state: "stopped", since: now, nextRetryAt: null };
  }
}
