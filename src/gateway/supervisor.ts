/**
 * One supervisor per platform. It owns the adapter's receive loop: the loop's promise settling is noticed at
 * once, a loop that shows no progress past its manifest's limit is torn down by the watchdog, every attempt is
 * aborted (releasing its sockets and timers) however it ended, and retryable failures are retried forever with
 * capped, jittered backoff. Credentials refused (`auth`) is `failed` until a reload. Nothing here throws.
 */

import type { PlatformBlock } from "../config/schema.ts";
import type { Logger } from "../log/logger.ts";
import type {
  Adapter,
  AdapterContext,
  AdapterFactory,
  InboundMessage,
  ReceiveResult,
} from "../platforms/adapter.ts";
import { PlatformError } from "../platforms/adapter.ts";
import type { PlatformManifest } from "../platforms/manifest.ts";
import { backoffDelay } from "./backoff.ts";
import { initialStatus, next, type PlatformEvent, type PlatformStatus } from "./platform-state.ts";
import { within } from "./within.ts";

export interface SupervisorOptions {
  manifest: PlatformManifest;
  block: PlatformBlock;
  credentials: Record<string, string>;
  reconnect: { initialMs: number; maxMs: number };
  /** Consecutive watchdog checks without progress before the adapter is torn down. */
  failureThreshold: number;
  load(): Promise<AdapterFactory>;
  log: Logger;
  /** Called after every transition (the gateway logs it once, writes the state file, counts it). */
  onTransition(status: PlatformStatus, previous: PlatformStatus, event: PlatformEvent): void;
  receive(message: InboundMessage): Promise<ReceiveResult>;
  /** The watchdog tore the adapter down. */
  onWatchdogTrip?(): void;
  /** A failure the adapter marked for the admins at once (PlatformError.announce), e.g. a 409 conflict. */
  onAnnounce?(reason: string): void;
  /** An adapter counted a protocol event (AdapterContext.count). */
  onEvent?(event: string): void;
  random?: () => number;
}

type Outcome =
  | { kind: "ended" }
  | { kind: "error"; error: unknown }
  | { kind: "teardown"; reason: string }
  | { kind: "stop" };

/** How long a torn-down receive loop gets to settle before it is abandoned (and reported). */
const SETTLE_MS = 5_000;

export class Supervisor {
  #status: PlatformStatus;
  #current: Adapter | undefined;
  #lastProgress = 0;
  #connectedAt: number | undefined;
  #failedChecks = 0;
  #stopping = false;
  #interrupt: ((outcome: Outcome) => void) | undefined;
  #wakeUp: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #lastInboundAt: number | null = null;
  #lastOutboundAt: number | null = null;

  constructor(readonly options: SupervisorOptions) {
    this.#status = initialStatus(Date.now());
  }

  get name(): string {
    return this.options.manifest.name;
  }

  get status(): PlatformStatus {
    return this.#status;
  }

  /** The adapter, while connected (deliveries go through it). */
  get adapter(): Adapter | undefined {
    return this.#status.state === "connected" ? this.#current : undefined;
  }

  get lastInboundAt(): number | null {
    return this.#lastInboundAt;
  }

  get lastOutboundAt(): number | null {
    return this.#lastOutboundAt;
  }

  markOutbound(): void {
    this.#lastOutboundAt = Date.now();
  }

  disable(reason: string): void {
    this.#apply({ type: "disable", reason });
  }

  start(): void {
    if (this.#loop) return;
    this.#stopping = false;
    this.#loop = this.#run().catch((error) => {
      // The loop itself must never die silently: report it and make the state say so.
      this.options.log.error("supervisor.crashed", `supervisor of ${this.name} crashed: ${String(error)}`, {
        platform: this.name,
      });
      this.#apply({ type: "fail", reason: `internal error: ${String(error)}` });
    });
  }

  /** Tears the adapter down and ends the loop; resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#interrupt?.({ kind: "stop" });
    this.#wakeUp?.();
    await this.#loop;
    this.#loop = undefined;
    if (this.#status.state !== "disabled") this.#apply({ type: "stop" });
  }

  /** A failed platform (credentials refused) tries again, e.g. after a reload. */
  retryNow(): void {
    this.#wakeUp?.();
  }

  /** Called by the gateway watchdog every interval. */
  checkLiveness(now: number): void {
    const limit = this.options.manifest.livenessMs;
    const { state } = this.#status;
    if (limit === null || (state !== "connected" && state !== "connecting")) return;
    if (now - this.#lastProgress <= limit) {
      this.#failedChecks = 0;
      return;
    }
    this.#failedChecks++;
    if (this.#failedChecks < this.options.failureThreshold) return;
    const seconds = ((now - this.#lastProgress) / 1000).toFixed(1);
    this.options.onWatchdogTrip?.();
    this.#interrupt?.({
      kind: "teardown",
      reason: `no progress for ${seconds} s (liveness limit ${limit / 1000} s)`,
    });
  }

  #apply(event: PlatformEvent): void {
    const previous = this.#status;
    this.#status = next(previous, event, Date.now());
    // A reset only restarts the backoff count: no state changed, so there is nothing to log or announce.
    if (event.type === "reset" && this.#status.state === previous.state) return;
    this.options.onTransition(this.#status, previous, event);
  }

  async #run(): Promise<void> {
    let factory: AdapterFactory;
    try {
      factory = await this.options.load();
    } catch (error) {
      this.disable(`adapter failed to load: ${String(error)}`);
      return;
    }
    while (!this.#stopping) {
      const outcome = await this.#attempt(factory);
      if (this.#stopping || outcome.kind === "stop") break;
      if (
        outcome.kind === "error" &&
        outcome.error instanceof PlatformError &&
        outcome.error.kind === "auth"
      ) {
        this.#apply({ type: "fail", reason: outcome.error.message });
        // Retried only after a reload (config change or SIGHUP).
        await this.#sleep(Number.POSITIVE_INFINITY);
        this.#apply({ type: "reset" });
        continue;
      }
      const reason = describe(outcome);
      const stableMs = Math.min(60_000, this.options.reconnect.maxMs);
      if (this.#connectedAt !== undefined && Date.now() - this.#connectedAt >= stableMs)
        this.#apply({ type: "reset" });
      const error =
        outcome.kind === "error" && outcome.error instanceof PlatformError ? outcome.error : undefined;
      const maxMs = Math.min(this.options.reconnect.maxMs, error?.backoffCapMs ?? Number.POSITIVE_INFINITY);
      const delay =
        error?.retryAfterMs ??
        backoffDelay(this.#status.attempts + 1, {
          initialMs: Math.min(this.options.reconnect.initialMs, maxMs),
          maxMs,
          random: this.options.random,
        });
      this.#apply({ type: "retry", reason, delayMs: delay });
      if (error?.announce) this.options.onAnnounce?.(reason);
      await this.#sleep(delay);
    }
  }

  /** One connection attempt, from connecting to the end of its receive loop. */
  async #attempt(factory: AdapterFactory): Promise<Outcome> {
    const controller = new AbortController();
    let live = true;
    this.#connectedAt = undefined;
    this.#failedChecks = 0;
    this.#lastProgress = Date.now();
    this.#apply({ type: "attempt" });
    const ctx: AdapterContext = {
      manifest: this.options.manifest,
      block: this.options.block,
      credentials: this.options.credentials,
      signal: controller.signal,
      log: this.options.log,
      progress: () => {
        if (live) this.#lastProgress = Date.now();
      },
      connected: () => {
        if (!live || this.#status.state === "connected") return;
        this.#lastProgress = Date.now();
        this.#connectedAt = this.#lastProgress;
        this.#apply({ type: "connected" });
      },
      count: (event) => {
        if (live) this.options.onEvent?.(event);
      },
      receive: (message) => {
        if (!live) return Promise.resolve({ status: "unavailable" });
        this.#lastProgress = Date.now();
        this.#lastInboundAt = this.#lastProgress;
        return this.options.receive(message);
      },
    };
    const interrupted = new Promise<Outcome>((resolve) => {
      this.#interrupt = resolve;
    });
    let running: Promise<Outcome>;
    try {
      this.#current = factory(ctx);
      running = this.#current.run().then(
        (): Outcome => ({ kind: "ended" }),
        (error): Outcome => ({ kind: "error", error }),
      );
    } catch (error) {
      running = Promise.resolve({ kind: "error", error });
    }
    const outcome = this.#stopping
      ? ({ kind: "stop" } as Outcome)
      : await Promise.race([running, interrupted]);
    // However the attempt ended, its sockets and timers go now.
    live = false;
    this.#interrupt = undefined;
    controller.abort(
      new PlatformError("transient", outcome.kind === "teardown" ? outcome.reason : "stopped"),
    );
    this.#current = undefined;
    const settled = await within(running, SETTLE_MS);
    if (!settled) {
      this.options.log.warn(
        "adapter.leak",
        `${this.name}: the receive loop did not end within ${SETTLE_MS / 1000} s of being torn down`,
        {
          platform: this.name,
        },
      );
    }
    return outcome;
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
      const self = this;
      function done() {
        if (timer) clearTimeout(timer);
        self.#wakeUp = undefined;
        resolve();
      }
      this.#wakeUp = done;
    });
  }
}

function describe(outcome: Outcome): string {
  switch (outcome.kind) {
    case "ended":
      return "the receive loop ended without an error";
    case "teardown":
      return outcome.reason;
    case "stop":
      return "stopped";
    case "error": {
      const e = outcome.error;
      return e instanceof Error ? e.message : String(e);
    }
  }
}
