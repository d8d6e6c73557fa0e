/**
 * What systemd does with a service's settings, as far as restarts go: which exits it restarts, how long it
 * waits, when its start limit gives up, how long it waits for a stop. This follows systemd's own code
 * (src/core/service.c service_shall_restart(), src/basic/ratelimit.c) and the behaviour measured against
 * systemd 252 in reference/systemd-findings.md §4.
 */
import {
  type Assignment,
  parseStatusSet,
  parseTimeSpan,
  parseUnsigned,
  type Setting,
  type Span,
  type StatusSet,
  type Unit,
} from "./unit-file.ts";

export const RESTART_POLICIES = [
  "no",
  "on-success",
  "on-failure",
  "on-abnormal",
  "on-watchdog",
  "on-abort",
  "always",
] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

export interface RestartRules {
  policy: RestartPolicy;
  /** The `Restart=` line in force; absent when the default (`no`) applies. */
  policySetting?: Setting<RestartPolicy>;
  force: StatusSet;
  success: StatusSet;
  prevent: StatusSet;
  forceAt: Assignment[];
  successAt: Assignment[];
  preventAt: Assignment[];
}

const parsePolicy = (v: string) =>
  (RESTART_POLICIES as readonly string[]).find((p) => p === v.trim()) as RestartPolicy | undefined;

export function restartRules(unit: Unit): RestartRules {
  const policySetting = unit.scalar("Service.Restart", parsePolicy);
  const forceAt = unit.list("Service.RestartForceExitStatus");
  const successAt = unit.list("Service.SuccessExitStatus");
  const preventAt = unit.list("Service.RestartPreventExitStatus");
  return {
    policy: policySetting?.value ?? "no",
    policySetting,
    force: parseStatusSet(forceAt).set,
    success: parseStatusSet(successAt).set,
    prevent: parseStatusSet(preventAt).set,
    forceAt,
    successAt,
    preventAt,
  };
}

/** How the main process ended. */
export interface Outcome {
  /** For messages: "a planned restart (exit 75)". */
  label: string;
  code?: number;
  signal?: string;
  /** systemd killed it for missing its watchdog (with SIGABRT). */
  watchdog?: boolean;
}

export const OUTCOMES = {
  planned: { label: "a planned restart (exit 75)", code: 75 },
  clean: { label: "a clean exit (0)", code: 0 },
  crash: { label: "a crash (exit 1)", code: 1 },
  killed: { label: "a kill by SIGKILL (the OOM killer)", signal: "SIGKILL" },
  watchdog: { label: "a watchdog timeout", signal: "SIGABRT", watchdog: true },
  config: { label: "a configuration error (exit 78)", code: 78 },
} as const satisfies Record<string, Outcome>;

// Signals a service (other than Type=oneshot) may die of and still count as a clean stop (systemd.service(5)).
const CLEAN_SIGNALS = new Set(["SIGHUP", "SIGINT", "SIGTERM", "SIGPIPE"]);
const CORE_SIGNALS = new Set([
  "SIGABRT",
  "SIGQUIT",
  "SIGSEGV",
  "SIGBUS",
  "SIGFPE",
  "SIGILL",
  "SIGSYS",
  "SIGTRAP",
]);

type Result = "success" | "exit-code" | "signal" | "core-dump" | "watchdog";

function resultOf(outcome: Outcome, success: StatusSet): Result {
  if (outcome.watchdog) return "watchdog";
  if (outcome.code !== undefined)
    return outcome.code === 0 || success.codes.has(outcome.code) ? "success" : "exit-code";
  const signal = outcome.signal!;
  if (CLEAN_SIGNALS.has(signal) || success.signals.has(signal)) return "success";
  return CORE_SIGNALS.has(signal) ? "core-dump" : "signal";
}

function inSet(set: StatusSet, outcome: Outcome): boolean {
  return outcome.code !== undefined ? set.codes.has(outcome.code) : set.signals.has(outcome.signal!);
}

/**
 * Whether systemd starts the service again after `outcome` (not after `systemctl stop`, which never
 * restarts). RestartPreventExitStatus= wins over everything, RestartForceExitStatus= over the policy (so a
 * forced 75 restarts even under Restart=no, findings §4), then the policy decides by the result.
 */
export function restarts(rules: RestartRules, outcome: Outcome): boolean {
  if (inSet(rules.prevent, outcome)) return false;
  if (inSet(rules.force, outcome)) return true;
  const result = resultOf(outcome, rules.success);
  switch (rules.policy) {
    case "no":
      return false;
    case "always":
      return true;
    case "on-success":
      return result === "success";
    case "on-failure":
      return result !== "success";
    case "on-abnormal":
      return result !== "success" && result !== "exit-code";
    case "on-watchdog":
      return result === "watchdog";
    case "on-abort":
      return result === "signal" || result === "core-dump";
  }
}

/** systemd's default RestartSec= (100 ms). */
export const DEFAULT_RESTART_SEC = 100;
/** systemd's default start limit (DefaultStartLimitIntervalSec=10s, DefaultStartLimitBurst=5). */
export const DEFAULT_START_LIMIT = { interval: 10_000, burst: 5 };
/** systemd's default stop timeout (DefaultTimeoutStopSec=90s). */
export const DEFAULT_TIMEOUT_STOP = 90_000;

const span = (v: string) => parseTimeSpan(v);
/** TimeoutStopSec= and TimeoutSec= take 0 to mean "no timeout". */
const spanZeroInfinite = (v: string) => {
  const ms = parseTimeSpan(v);
  return ms === 0 ? Number.POSITIVE_INFINITY : ms;
};

export function restartSec(unit: Unit): Setting<Span> | undefined {
  return unit.scalar("Service.RestartSec", span);
}

/** Exponential restart backoff (systemd 254+): from RestartSec to RestartMaxDelaySec in RestartSteps steps. */
export interface Backoff {
  steps: number;
  maxDelay: Span;
}

/** The backoff the unit asks for, when the installed systemd honours it (null version: assume it does). */
export function restartBackoff(unit: Unit, version: number | null): Backoff | null {
  if (version !== null && version < 254) return null;
  const steps = unit.scalar("Service.RestartSteps", parseUnsigned)?.value ?? 0;
  const maxDelay = unit.scalar("Service.RestartMaxDelaySec", span)?.value ?? Number.POSITIVE_INFINITY;
  if (steps === 0 || maxDelay === Number.POSITIVE_INFINITY) return null;
  return { steps, maxDelay };
}

/**
 * The shortest gaps between the first `count` starts of a crash loop: each is at least the restart delay
 * for that restart (the process may die at once). With backoff, restart i waits
 * RestartSec·(max/RestartSec)^((i-1)/steps), capped at the maximum (service_restart_usec_next()).
 */
export function restartGaps(base: Span, backoff: Backoff | null, count: number): Span[] {
  const gaps: Span[] = [];
  for (let i = 1; i <= count; i++) {
    if (!backoff || i <= 1 || base === 0 || base >= backoff.maxDelay) gaps.push(base);
    else if (i > backoff.steps) gaps.push(backoff.maxDelay);
    else gaps.push(base * (backoff.maxDelay / base) ** ((i - 1) / backoff.steps));
  }
  return gaps;
}

export interface StartLimit {
  interval: Span;
  burst: number;
  intervalSetting?: Setting<Span>;
  burstSetting?: Setting<number>;
}

/** The start limit in force: [Unit] keys, or the deprecated [Service] spellings, else systemd's default. */
export function startLimit(unit: Unit): StartLimit {
  const intervalSetting = unit.scalar(
    ["Unit.StartLimitIntervalSec", "Unit.StartLimitInterval", "Service.StartLimitInterval"],
    span,
  );
  const burstSetting = unit.scalar(["Unit.StartLimitBurst", "Service.StartLimitBurst"], parseUnsigned);
  return {
    interval: intervalSetting?.value ?? DEFAULT_START_LIMIT.interval,
    burst: burstSetting?.value ?? DEFAULT_START_LIMIT.burst,
    intervalSetting,
    burstSetting,
  };
}

/**
 * Whether the start limit can stop a restart loop for good, and how quickly: systemd counts starts in a
 * window that opens at the first start and closes `interval` later; the start after `burst` of them in
 * one window is refused, and the unit stays failed. An interval or burst of 0 turns the limit off; an
 * infinite interval never closes the window, so `burst` starts in all are the end. Returns the time the
 * refused start would come at, or null when a crash loop can never reach the limit.
 */
export function startLimitTrip(limit: StartLimit, gaps: Span[]): Span | null {
  if (limit.interval === 0 || limit.burst === 0) return null;
  const elapsed = gaps.slice(0, limit.burst).reduce((a, b) => a + b, 0);
  if (!Number.isFinite(elapsed)) return null;
  // systemd refuses a start at exactly `interval` after the first, but real gaps always exceed RestartSec
  // (the process must start and fail), so a loop that only just fits never trips: 5 × 2 s in 10 s is fine.
  return elapsed < limit.interval ? elapsed : null;
}

export function stopTimeout(unit: Unit): Setting<Span> | undefined {
  return unit.scalar(["Service.TimeoutSec", "Service.TimeoutStopSec"], spanZeroInfinite);
}

export function watchdogSec(unit: Unit): Setting<Span> | undefined {
  return unit.scalar("Service.WatchdogSec", span);
}

const TYPES_252 = ["simple", "exec", "forking", "oneshot", "dbus", "notify", "idle"];

/** Type= in force; `notify-reload` only where systemd knows it (253+). */
export function serviceType(unit: Unit, version: number | null): Setting<string> | undefined {
  const known = version === null || version >= 253 ? [...TYPES_252, "notify-reload"] : TYPES_252;
  return unit.scalar("Service.Type", (v) => (known.includes(v.trim()) ? v.trim() : undefined));
}

export function notifyAccess(unit: Unit): string | undefined {
  return unit.scalar("Service.NotifyAccess", (v) =>
    ["none", "main", "exec", "all"].includes(v.trim()) ? v.trim() : undefined,
  )?.value;
}
