import { describe, expect, it } from "vitest";
import {
  OUTCOMES,
  restartBackoff,
  restartGaps,
  restartRules,
  restarts,
  startLimit,
  startLimitTrip,
  stopTimeout,
} from "./lint-semantics.ts";
import { parseUnitText, Unit } from "./unit-file.ts";

const unit = (service: string, unitSection = "") =>
  new Unit("u.service", parseUnitText(`[Unit]\n${unitSection}\n[Service]\n${service}\n`, "/u.service"));

/** Which of planned (75), clean (0), crash (1), killed (SIGKILL), config (78) restart. */
function table(service: string): Record<string, boolean> {
  const rules = restartRules(unit(service));
  const out: Record<string, boolean> = {};
  for (const name of ["planned", "clean", "crash", "killed", "config"] as const)
    out[name] = restarts(rules, OUTCOMES[name]);
  return out;
}

describe("restarts", () => {
  it("follows each policy for each outcome", () => {
    expect(table("Restart=always")).toEqual({
      planned: true,
      clean: true,
      crash: true,
      killed: true,
      config: true,
    });
    expect(table("")).toEqual({ planned: false, clean: false, crash: false, killed: false, config: false });
    expect(table("Restart=on-failure")).toEqual({
      planned: true,
      clean: false,
      crash: true,
      killed: true,
      config: true,
    });
    expect(table("Restart=on-success")).toEqual({
      planned: false,
      clean: true,
      crash: false,
      killed: false,
      config: false,
    });
    expect(table("Restart=on-abnormal")).toEqual({
      planned: false,
      clean: false,
      crash: false,
      killed: true,
      config: false,
    });
    expect(table("Restart=on-abort")).toMatchObject({
      planned: false,
      clean: false,
      crash: false,
      killed: true,
    });
    expect(restarts(restartRules(unit("Restart=on-abort")), { label: "segv", signal: "SIGSEGV" })).toBe(true);
    expect(restarts(restartRules(unit("Restart=on-watchdog")), OUTCOMES.watchdog)).toBe(true);
    expect(table("Restart=on-watchdog")).toMatchObject({ crash: false, killed: false });
  });

  it("restarts a forced 75 even under Restart=no, as systemd 252 does", () => {
    expect(table("Restart=no\nRestartForceExitStatus=75")).toMatchObject({ planned: true, clean: false });
  });

  it("counts SuccessExitStatus codes as success, which on-failure then does not restart unless forced", () => {
    expect(table("Restart=on-failure\nSuccessExitStatus=75").planned).toBe(false);
    expect(table("Restart=on-failure\nSuccessExitStatus=75\nRestartForceExitStatus=75").planned).toBe(true);
    expect(table("Restart=on-success\nSuccessExitStatus=0 75").planned).toBe(true);
  });

  it("lets RestartPreventExitStatus win over the policy and over RestartForceExitStatus", () => {
    expect(table("Restart=always\nRestartPreventExitStatus=78").config).toBe(false);
    expect(table("Restart=always\nRestartForceExitStatus=78\nRestartPreventExitStatus=CONFIG").config).toBe(
      false,
    );
  });

  it("matches signals in the sets: a SIGTERM counts as clean, a listed signal is forced", () => {
    const rules = restartRules(unit("Restart=on-failure\nRestartForceExitStatus=75 SIGTERM"));
    expect(restarts(rules, { label: "term", signal: "SIGTERM" })).toBe(true);
    expect(restarts(restartRules(unit("Restart=on-failure")), { label: "term", signal: "SIGTERM" })).toBe(
      false,
    );
  });

  it("ignores a Restart= value systemd does not know, keeping the one before", () => {
    expect(restartRules(unit("Restart=always\nRestart=sometimes")).policy).toBe("always");
    expect(restartRules(unit("Restart=sometimes")).policy).toBe("no");
  });
});

describe("the start limit", () => {
  it("is read from [Unit], or the deprecated [Service] spellings, else the default 10 s / 5", () => {
    expect(startLimit(unit(""))).toMatchObject({ interval: 10_000, burst: 5 });
    expect(startLimit(unit("", "StartLimitIntervalSec=300\nStartLimitBurst=10"))).toMatchObject({
      interval: 300_000,
      burst: 10,
    });
    expect(startLimit(unit("StartLimitInterval=0\nStartLimitBurst=3"))).toMatchObject({
      interval: 0,
      burst: 3,
    });
    // StartLimitIntervalSec= is not a [Service] key: systemd ignores it there.
    expect(startLimit(unit("StartLimitIntervalSec=0"))).toMatchObject({ interval: 10_000 });
  });

  it("trips when the allowed starts come faster than the interval", () => {
    const trip = (interval: number, burst: number, gap: number) =>
      startLimitTrip({ interval, burst }, restartGaps(gap, null, burst));
    expect(trip(10_000, 5, 100)).toBe(500);
    expect(trip(300_000, 10, 5_000)).toBe(50_000);
    expect(trip(10_000, 5, 10_000)).toBeNull();
    // Exactly at the interval: the real gaps are longer than RestartSec, so it does not trip.
    expect(trip(10_000, 5, 2_000)).toBeNull();
    expect(trip(0, 5, 100)).toBeNull();
    expect(trip(10_000, 0, 100)).toBeNull();
    // An infinite interval never closes the window: the limit is `burst` starts in all.
    expect(trip(Number.POSITIVE_INFINITY, 5, 3_600_000)).toBe(5 * 3_600_000);
  });

  it("spaces starts out with RestartSteps backoff only where systemd has it (254+)", () => {
    const u = unit("RestartSec=10\nRestartSteps=5\nRestartMaxDelaySec=300");
    expect(restartBackoff(u, 252)).toBeNull();
    const backoff = restartBackoff(u, 254);
    expect(backoff).toEqual({ steps: 5, maxDelay: 300_000 });
    const gaps = restartGaps(10_000, backoff, 8);
    expect(gaps[0]).toBe(10_000);
    expect(gaps[1]).toBeCloseTo(10_000 * 30 ** (1 / 5), 3);
    expect(gaps[4]).toBeCloseTo(10_000 * 30 ** (4 / 5), 3);
    expect(gaps.slice(5)).toEqual([300_000, 300_000, 300_000]);
    expect(startLimitTrip({ interval: 600_000, burst: 10 }, restartGaps(10_000, backoff, 10))).toBeNull();
    expect(startLimitTrip({ interval: 600_000, burst: 10 }, restartGaps(10_000, null, 10))).toBe(100_000);
  });
});

describe("the stop timeout", () => {
  it("is the last of TimeoutSec= and TimeoutStopSec=, where 0 means none", () => {
    expect(stopTimeout(unit("TimeoutSec=200\nTimeoutStopSec=20"))?.value).toBe(20_000);
    expect(stopTimeout(unit("TimeoutStopSec=20\nTimeoutSec=200"))?.value).toBe(200_000);
    expect(stopTimeout(unit("TimeoutStopSec=0"))?.value).toBe(Number.POSITIVE_INFINITY);
    expect(stopTimeout(unit(""))).toBeUndefined();
  });
});
