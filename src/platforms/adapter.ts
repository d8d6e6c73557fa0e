/**
 * The adapter contract. An adapter speaks its platform's protocol and nothing else: the supervisor owns
 * retrying, backoff and liveness. `run()` is the receive loop; the supervisor notices at once when it resolves
 * or rejects (there is no "notify" call an adapter could forget), and tears it down through `signal`.
 */
import type { PlatformBlock } from "../config/schema.ts";
import type { Logger } from "../log/logger.ts";
import type { PlatformManifest } from "./manifest.ts";

/** A message from a platform, normalised. */
export interface InboundMessage {
  platform: string;
  chatId: string;
  userId: string;
  messageId: string;
  text: string;
  at: Date;
  /** Sent in a group chat (allowed_chats and require_mention apply). */
  group?: boolean;
  /** The bot was mentioned (matters in groups with require_mention). */
  mentioned?: boolean;
}

/** A message to send. `id` is stable across retries so receivers can de-duplicate. */
export interface OutboundMessage {
  id: string;
  platform: string;
  chatId: string;
  text: string;
  inReplyTo: string | null;
}

export type ReceiveResult =
  | { status: "accepted"; id: string }
  | { status: "duplicate" }
  | { status: "forbidden" }
  /** Allowed but not for the agent (a group chat not listed, no mention where one is required). */
  | { status: "ignored" }
  | { status: "unavailable" };

export interface AdapterContext {
  manifest: PlatformManifest;
  block: PlatformBlock;
  /** Credentials by key (`token`, `bot_token`, …). */
  credentials: Record<string, string>;
  /** Aborted when the supervisor tears this connection down; the adapter must then release everything. */
  signal: AbortSignal;
  log: Logger;
  /** Any sign of life (a frame, a poll that returned): the gateway watchdog reads it. */
  progress(): void;
  /** The connection is usable (handshake done). */
  connected(): void;
  /** Counts a protocol event worth watching (`stale_poll`, `zombie`, …): `hermes_platform_events_total`. */
  count(event: string): void;
  /** Hands a message to the gateway; resolves once it is accepted (or refused). */
  receive(message: InboundMessage): Promise<ReceiveResult>;
}

export interface Adapter {
  /** The receive loop: returns or throws only when the connection ends. */
  run(): Promise<void>;
  /** Delivers one message; throws a PlatformError on failure. */
  send(message: OutboundMessage): Promise<void>;
  /** For platforms that receive over HTTP: handles a request to /webhooks/<platform>. */
  webhook?(request: Request): Promise<Response>;
}

export type AdapterFactory = (ctx: AdapterContext) => Adapter;

export type PlatformErrorKind = "auth" | "transient" | "rate_limit" | "protocol";

/**
 * What went wrong, classified: `auth` means the platform refused our credentials (state `failed`). `announce`
 * asks the gateway to tell the admins at once rather than after the usual threshold, and `backoffCapMs` caps the
 * backoff below `gateway.reconnect.max` (a 409 conflict: another instance runs with the same token, which only a
 * person can fix, and the platform must notice soon once they have).
 */
export class PlatformError extends Error {
  override name = "PlatformError";
  readonly announce: boolean;
  readonly backoffCapMs: number | undefined;
  constructor(
    readonly kind: PlatformErrorKind,
    message: string,
    readonly retryAfterMs?: number,
    options: { cause?: unknown; announce?: boolean; backoffCapMs?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.announce = options.announce ?? false;
    this.backoffCapMs = options.backoffCapMs;
  }
}
