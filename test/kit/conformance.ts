/**
 * The adapter conformance suite: what every platform adapter must do under the real Supervisor, against its
 * platform's loopback test server. A platform's test calls `adapterConformance(driver)`; the driver is the only
 * platform-specific part (how to start its server, revoke the token, drop or silence connections, make a user
 * say something, read what the bot sent, and feed it garbage). Intervals are scaled down by the driver.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Supervisor } from "../../src/gateway/supervisor.ts";
import { within } from "../../src/gateway/within.ts";
import type { Fields, Logger } from "../../src/log/logger.ts";
import type { AdapterFactory, InboundMessage, ReceiveResult } from "../../src/platforms/adapter.ts";
import type { PlatformManifest } from "../../src/platforms/manifest.ts";
import { waitFor } from "../helpers/wait.ts";

/** One running test server of the platform, and the switches the suite needs. */
export interface PlatformServerDriver {
  /** The platform block pointing the adapter at this server (`api_base`, …). */
  block: Record<string, unknown>;
  credentials: Record<string, string>;
  /** Every later request is refused as a revoked token would be. */
  revokeToken(): void;
  /** Every open connection is cut (the server keeps listening). */
  dropConnections(): void | Promise<void>;
  /** Connections stay open and nothing is answered any more, including requests already in flight. */
  silence(): void;
  /** A user of the platform sends `text` to the bot. */
  userSays(text: string): void;
  /** Texts the bot has sent, in order, with their chat. */
  sent(): { chatId: string; text: string }[];
  /** Feeds every kind of malformed input the platform can produce (bad JSON, bad events, …). */
  feedMalformed(): void | Promise<void>;
  close(): Promise<void>;
}

export interface ConformanceDriver {
  /** The platform's manifest with its liveness limit scaled down for tests. */
  manifest: PlatformManifest;
  /** The adapter factory, with the platform's own deadlines scaled down. */
  factory: AdapterFactory;
  start(): Promise<PlatformServerDriver>;
  /** How long the scaled-down adapter may take to notice a silent connection (its own deadline or liveness). */
  silenceDetectionMs: number;
}

/** Supervisor settings for the suite: the gateway's, scaled down. */
export const SCALED_RECONNECT = { initialMs: 20, maxMs: 200 };
const WATCHDOG_EVERY_MS = 50;

export interface Harness {
  supervisor: Supervisor;
  states: string[];
  reasons: (string | null)[];
  received: InboundMessage[];
  logs: { level: string; event: string; msg: string; fields?: Fields }[];
  stop(): Promise<void>;
}

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.stop();
});

function captureLogger(logs: Harness["logs"]): Logger {
  const at =
    (level: string) =>
    (event: string, msg: string, fields?: Fields): void => {
      logs.push({ level, event, msg, ...(fields ? { fields } : {}) });
    };
  const logger: Logger = {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: () => logger,
  };
  return logger;
}

/**
 * Runs `factory` under a real Supervisor with an echo agent: every accepted message is answered with
 * `echo: <text>` through the adapter, as the gateway's pipeline and outbox would.
 */
export function supervise(
  manifest: PlatformManifest,
  factory: AdapterFactory,
  server: Pick<PlatformServerDriver, "block" | "credentials">,
  options: { reconnect?: { initialMs: number; maxMs: number }; receive?: () => ReceiveResult } = {},
): Harness {
  const states: string[] = [];
  const reasons: (string | null)[] = [];
  const received: InboundMessage[] = [];
  const logs: Harness["logs"] = [];
  const seen = new Set<string>();
  let supervisor: Supervisor;
  const echo = async (message: InboundMessage) => {
    // As the outbox does: retried while the platform is down, given up when the test ends.
    for (let attempt = 0; attempt < 50; attempt++) {
      const adapter = supervisor.adapter;
      if (adapter) {
        try {
          await adapter.send({
            id: `reply-${message.messageId}`,
            platform: message.platform,
            chatId: message.chatId,
            text: `echo: ${message.text}`,
            inReplyTo: message.messageId,
          });
          return;
        } catch {
          // retried below
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  supervisor = new Supervisor({
    manifest,
    block: { require_mention: false, ...server.block },
    credentials: server.credentials,
    reconnect: options.reconnect ?? SCALED_RECONNECT,
    failureThreshold: 1,
    load: async () => factory,
    log: captureLogger(logs),
    onTransition: (status, previous) => {
      if (status.state !== previous.state) {
        states.push(status.state);
        reasons.push(status.reason);
      }
    },
    receive: async (message) => {
      const verdict = options.receive?.();
      if (verdict) return verdict;
      if (seen.has(message.messageId)) return { status: "duplicate" };
      seen.add(message.messageId);
      received.push(message);
      void echo(message);
      return { status: "accepted", id: message.messageId };
    },
  });
  const watchdog = setInterval(() => supervisor.checkLiveness(Date.now()), WATCHDOG_EVERY_MS);
  supervisor.start();
  const harness: Harness = {
    supervisor,
    states,
    reasons,
    received,
    logs,
    stop: async () => {
      clearInterval(watchdog);
      await within(supervisor.stop(), 10_000);
    },
  };
  harnesses.push(harness);
  return harness;
}

export const connected = (h: Harness, ms = 10_000) =>
  waitFor("the platform to be connected", () => h.supervisor.status.state === "connected", ms);

/** The suite every adapter passes. */
export function adapterConformance(driver: ConformanceDriver): void {
  const name = driver.manifest.name;
  describe(`adapter conformance: ${name}`, () => {
    let server: PlatformServerDriver | undefined;
    afterEach(async () => {
      for (const h of harnesses.splice(0)) await h.stop();
      await server?.close();
      server = undefined;
    });
    const start = async () => {
      server = await driver.start();
      return { server, h: supervise(driver.manifest, driver.factory, server) };
    };

    it("a revoked token is `failed` with the reason, and not retried", async () => {
      const { server, h } = await start();
      await connected(h);
      server.revokeToken();
      await waitFor("state failed", () => h.supervisor.status.state === "failed", 10_000);
      expect(h.supervisor.status.reason).toMatch(/reject|unauthori[sz]ed|invalid|revoked/i);
      const attempts = h.supervisor.status.attempts;
      await new Promise((r) => setTimeout(r, 3 * SCALED_RECONNECT.maxMs));
      // Still failed, no new attempt: only a reload retries refused credentials.
      expect(h.supervisor.status.state).toBe("failed");
      expect(h.supervisor.status.attempts).toBe(attempts);
    });

    it("a dropped connection goes to `backoff`, then `connected` again", async () => {
      const { server, h } = await start();
      await connected(h);
      await server.dropConnections();
      await waitFor("a reconnect", () => h.supervisor.status.reconnects >= 1, 10_000);
      const after = h.states.slice(h.states.indexOf("connected") + 1);
      expect(after).toContain("backoff");
      expect(h.supervisor.status.state).toBe("connected");
    });

    it("a silent connection is caught within its liveness limit", async () => {
      const { server, h } = await start();
      await connected(h);
      const connectedAt = h.states.length;
      server.silence();
      const backoff = await waitFor(
        "the silent connection to be noticed",
        () => {
          const i = h.states.indexOf("backoff", connectedAt);
          return i >= 0 ? i : undefined;
        },
        driver.silenceDetectionMs + 2000,
      );
      expect(h.reasons[backoff]).toMatch(/stale|no progress|timeout|no answer|liveness/i);
    });

    it("stop resolves before the deadline, even with a request hanging", async () => {
      const { server, h } = await start();
      await connected(h);
      server.silence();
      expect(await within(h.supervisor.stop(), 5000)).toBe(true);
      expect(h.supervisor.status.state).toBe("stopped");
      expect(h.logs.filter((l) => l.event === "adapter.leak")).toEqual([]);
    });

    it("a user's message reaches the echo agent and the reply goes back to the chat", async () => {
      const { server, h } = await start();
      await connected(h);
      server.userSays("ping from conformance");
      await waitFor("the reply", () => server.sent().length >= 1, 10_000);
      expect(h.received.map((m) => m.text)).toEqual(["ping from conformance"]);
      expect(server.sent()[0]).toEqual({
        chatId: h.received[0]?.chatId,
        text: "echo: ping from conformance",
      });
    });

    it("survives every malformed input, and still serves the next message", async () => {
      const { server, h } = await start();
      await connected(h);
      await server.feedMalformed();
      server.userSays("after the garbage");
      await waitFor(
        "the reply after malformed input",
        () => server.sent().some((m) => m.text === "echo: after the garbage"),
        10_000,
      );
      expect(["connected", "backoff", "connecting"]).toContain(h.supervisor.status.state);
      expect(h.supervisor.status.state).not.toBe("failed");
      expect(h.logs.filter((l) => l.event === "supervisor.crashed")).toEqual([]);
    });
  });
}
