/**
 * The checks the platforms' seed tests (test/platforms/*-seeds.test.ts) share: upstream's long outages and
 * silent give-ups, replayed under the real Supervisor with time scaled 1/3000, so that the backoff cap of
 * 5 min becomes 100 ms and a 2-hour outage 2.4 s.
 */
import { expect } from "vitest";
import { sleep, waitFor } from "../helpers/wait.ts";
import { connected, type Harness } from "./conformance.ts";

export const SEED_SCALE = 1 / 3000;
/** The gateway's reconnect settings, scaled. */
export const SEED_RECONNECT = { initialMs: 1, maxMs: Math.round(5 * 60_000 * SEED_SCALE) };
export const TWO_HOURS_SCALED = Math.round(2 * 3600_000 * SEED_SCALE);

/** The index of the first `state` in the harness's states from index `from` on, once there is one. */
export function waitForState(h: Harness, state: string, from: number, what: string, timeoutMs: number) {
  return waitFor(
    what,
    () => {
      const i = h.states.indexOf(state, from);
      return i >= 0 ? i : undefined;
    },
    timeoutMs,
  );
}

/**
 * Lets a scaled 2-hour outage pass (it began at state index `before`), then checks the supervisor kept trying:
 * never `connected` meanwhile, at least 10 attempts, and its reason matching `reason`.
 */
export async function sitOutOutage(h: Harness, before: number, reason: RegExp): Promise<void> {
  await sleep(TWO_HOURS_SCALED);
  expect(h.states.slice(before)).not.toContain("connected");
  expect(h.supervisor.status.attempts).toBeGreaterThanOrEqual(10);
  expect(h.supervisor.status.reason).toMatch(reason);
}

/** Ends an outage with `restore`; connected again within one backoff interval, one reconnect, no restart. */
export async function expectBackWithinOneInterval(h: Harness, restore: () => unknown): Promise<void> {
  const attemptsAtRestore = h.supervisor.status.attempts;
  await restore();
  await connected(h, SEED_RECONNECT.maxMs + 5000);
  // The attempt under way when the network came back may still fail; the next one connects.
  expect(h.supervisor.status.attempts - attemptsAtRestore).toBeLessThanOrEqual(1);
  expect(h.supervisor.status.reconnects).toBe(1);
}

/**
 * The silent give-up seed: with the server refusing connections for a long time (six scaled 20-minute windows),
 * new attempts are made in every window, the state is never `connected` nor `failed`, and the reason matches
 * `reason`; once the server is back, the platform connects again.
 */
export async function expectRetriesNeverStop(
  h: Harness,
  server: { refuse(): Promise<void>; resume(): Promise<void> },
  reason: RegExp,
): Promise<void> {
  await connected(h);
  const before = h.states.length;
  await server.refuse();
  const samples: number[] = [];
  for (let i = 0; i < 6; i++) {
    await sleep(Math.round(20 * 60_000 * SEED_SCALE));
    samples.push(h.supervisor.status.attempts);
    expect(h.supervisor.status.state).not.toBe("connected");
    expect(h.supervisor.status.reason).toMatch(reason);
  }
  for (let i = 1; i < samples.length; i++) expect(samples[i]).toBeGreaterThan(samples[i - 1] ?? 0);
  expect(h.states.slice(before)).not.toContain("connected");
  expect(h.states.slice(before)).not.toContain("failed");
  await server.resume();
  await connected(h, SEED_RECONNECT.maxMs + 5000);
}
