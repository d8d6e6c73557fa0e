/**
 * Slack over Socket Mode, spoken directly (WebSocket through openWebSocket, Web API over fetch) so that every
 * wait has a deadline of ours. One run: auth.test with the bot token (who the bot is), then connections one
 * after another, each on a fresh single-use URL from apps.connections.open (app-level token), usable once
 * `hello` arrives. An envelope is acked only once the gateway has its message in the inbound journal; one never
 * acked comes again from Slack and is de-duplicated by the gateway (the message id is channel:ts). Liveness:
 * we ping, and a pong missing past its deadline is a zombie (TCP open, nobody home): the socket is dropped and
 * the supervisor reconnects. A `disconnect` frame is routine rotation, handled here on a fresh URL without a
 * backoff, except `link_disabled` (Socket Mode switched off: a person must act, so `failed`).
 */
import { splitText } from "../../outbox/split.ts";
import type { FetchLike } from "../../runtime/fetch.ts";
import { openWebSocket, type WebSocket } from "../../runtime/websocket.ts";
import {
  type Adapter,
  type AdapterContext,
  type InboundMessage,
  type OutboundMessage,
  PlatformError,
} from "../adapter.ts";
import { DeliveredParts, remember } from "../delivered-parts.ts";
import { SlackApi } from "./api.ts";

export interface SlackAdapterOptions {
  fetch?: FetchLike;
  /** How often we ping the server. @default 5 s */
  pingIntervalMs?: number;
  /** A ping unanswered this long means the connection is a zombie. @default 5 s (as @slack/socket-mode) */
  pongTimeoutMs?: number;
  /** How long after opening the socket `hello` may take. @default 10 s */
  helloTimeoutMs?: number;
  /** A `disconnect` sooner than this after `hello` is not rotated here but left to the supervisor's backoff. @default 5 s */
  minConnectionMs?: number;
}

/** Who the bot is, from auth.test. */
export interface SlackIdentity {
  userId: string;
  botId?: string;
  team?: string;
}

const REQUEST_TIMEOUT_MS = 30_000;
/** Message subtypes that are still a person writing to the bot; every other subtype (edits, joins, bots) is not. */
const TAKEN_SUBTYPES = new Set(["thread_broadcast", "file_share"]);

/** Parts of a split message already delivered, by message id: a retry resumes instead of repeating them. */
const deliveredParts = new DeliveredParts();
/** The thread a received message belongs to, by message id: its reply goes to the same thread. */
const threads = new Map<string, string>();

export function createSlackAdapter(ctx: AdapterContext, options: SlackAdapterOptions = {}): Adapter {
  const api = new SlackApi(
    { bot: ctx.credentials.bot_token ?? "", app: ctx.credentials.app_token ?? "" },
    { base: typeof ctx.block.api_base === "string" ? ctx.block.api_base : undefined, fetch: options.fetch },
  );
  const pingIntervalMs = options.pingIntervalMs ?? 5_000;
  const pongTimeoutMs = options.pongTimeoutMs ?? 5_000;
  const helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
  const minConnectionMs = options.minConnectionMs ?? 5_000;
  let malformed = 0;

  /** One Socket Mode connection, from open to its end: resolves on a routine `disconnect`, else throws. */
  async function connection(url: string, me: SlackIdentity): Promise<{ reason: string }> {
    const local = new AbortController();
    const signal = AbortSignal.any([ctx.signal, local.signal]);
    let socket: WebSocket;
    try {
      socket = openWebSocket(url, { signal, handshakeTimeoutMs: helloTimeoutMs });
    } catch (error) {
      throw new PlatformError(
        "protocol",
        `apps.connections.open gave a URL that cannot be opened: ${String(error)}`,
      );
    }
    return new Promise((resolve, reject) => {
      let helloAt: number | undefined;
      let settled = false;
      let pingTimer: ReturnType<typeof setInterval> | undefined;
      let pongDeadline: ReturnType<typeof setTimeout> | undefined;
      const helloDeadline = setTimeout(
        () =>
          finish(
            new PlatformError(
              "transient",
              `no hello from Slack within ${helloTimeoutMs / 1000} s of opening the Socket Mode connection`,
            ),
          ),
        helloTimeoutMs,
      );

      function finish(outcome: PlatformError | { reason: string }): void {
        if (settled) return;
        settled = true;
        clearTimeout(helloDeadline);
        clearInterval(pingTimer);
        clearTimeout(pongDeadline);
        socket.removeAllListeners("message");
        if (outcome instanceof PlatformError) {
          // A zombie does not answer a close handshake: cut it.
          socket.terminate();
          reject(outcome);
        } else {
          local.abort();
          resolve(outcome);
        }
      }

      signal.addEventListener("abort", () => finish({ reason: "stopped" }), { once: true });
      socket.on("error", (error) =>
        finish(new PlatformError("transient", `Socket Mode connection failed: ${describeError(error)}`)),
      );
      socket.on("close", (code, reason) =>
        finish(
          new PlatformError(
            "transient",
            `Slack closed the Socket Mode connection (code ${code}${reason.length ? ` ${reason.toString()}` : ""})`,
          ),
        ),
      );
      socket.on("ping", () => ctx.progress());
      socket.on("pong", () => {
        clearTimeout(pongDeadline);
        pongDeadline = undefined;
        ctx.progress();
      });
      socket.on("message", (data, isBinary) => {
        ctx.progress();
        if (isBinary) return;
        let frame: Record<string, unknown>;
        try {
          frame = JSON.parse(String(data));
          if (!frame || typeof frame !== "object" || Array.isArray(frame)) throw new Error("not an object");
        } catch {
          noteMalformed("a frame that is not a JSON object");
          return;
        }
        if (frame.type === "hello") {
          if (helloAt !== undefined) return;
          helloAt = Date.now();
          clearTimeout(helloDeadline);
          ctx.connected();
          pingTimer = setInterval(ping, pingIntervalMs);
          return;
        }
        if (frame.type === "disconnect") {
          const reason = typeof frame.reason === "string" ? frame.reason : "unknown";
          if (reason === "warning") {
            // Slack closes this link in about 10 s; the refresh that follows rotates it.
            ctx.log.info("slack.disconnect_warning", "Slack announced a Socket Mode refresh");
            return;
          }
          if (reason === "link_disabled")
            return finish(
              new PlatformError(
                "auth",
                "Slack disabled Socket Mode for this app (disconnect: link_disabled); turn Socket Mode on in the app's settings, then reload",
              ),
            );
          const lived = helloAt === undefined ? 0 : Date.now() - helloAt;
          if (lived < minConnectionMs)
            return finish(
              new PlatformError(
                "transient",
                `Slack asked to reconnect (${reason}) ${(lived / 1000).toFixed(1)} s after connecting`,
              ),
            );
          return finish({ reason });
        }
        if (typeof frame.envelope_id === "string") return envelope(socket, frame.envelope_id, frame, me);
        noteMalformed("a frame that is neither hello, disconnect nor an envelope");
      });

      function ping(): void {
        if (pongDeadline !== undefined || socket.readyState !== socket.OPEN) return;
        socket.ping();
        pongDeadline = setTimeout(() => {
          ctx.count("zombie");
          ctx.log.warn(
            "slack.zombie",
            `no pong within ${pongTimeoutMs / 1000} s of a ping: the Socket Mode link is dead though its TCP connection is open; dropping it`,
            { pong_timeout_ms: pongTimeoutMs },
          );
          finish(
            new PlatformError(
              "transient",
              `zombie connection: no pong within ${pongTimeoutMs / 1000} s of a ping (liveness); reconnecting on a fresh URL`,
            ),
          );
        }, pongTimeoutMs);
      }
    });
  }

  /** Hands an envelope's message to the gateway and acks once it is journaled; anything else is acked at once. */
  function envelope(socket: WebSocket, id: string, frame: Record<string, unknown>, me: SlackIdentity): void {
    const ack = () => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ envelope_id: id }));
    };
    const message = frame.type === "events_api" ? normalize(frame.payload, me, ctx.manifest.name) : undefined;
    if (!message) {
      ack();
      return;
    }
    if (message.threadTs) remember(threads, message.inbound.messageId, message.threadTs);
    // Not acked when the gateway cannot take it (draining): Slack sends it again, to this or the next link.
    ctx.receive(message.inbound).then(
      (result) => {
        if (result.status !== "unavailable") ack();
      },
      () => {},
    );
  }

  function noteMalformed(what: string): void {
    malformed++;
    // Once, then every 100th: garbage must not flood the log.
    if (malformed === 1 || malformed % 100 === 0)
      ctx.log.warn("slack.malformed", `Socket Mode sent ${what}; skipped`, { malformed });
  }

  return {
    async run() {
      const who = await api.call<{ user_id?: unknown; bot_id?: unknown; team?: unknown }>(
        "auth.test",
        "bot",
        undefined,
        { signal: ctx.signal, timeoutMs: REQUEST_TIMEOUT_MS },
      );
      if (typeof who.user_id !== "string")
        throw new PlatformError("protocol", "auth.test answered without the bot's user_id");
      const me: SlackIdentity = {
        userId: who.user_id,
        ...(typeof who.bot_id === "string" ? { botId: who.bot_id } : {}),
        ...(typeof who.team === "string" ? { team: who.team } : {}),
      };
      ctx.progress();
      while (!ctx.signal.aborted) {
        const opened = await api.call<{ url?: unknown }>("apps.connections.open", "app", undefined, {
          signal: ctx.signal,
          timeoutMs: REQUEST_TIMEOUT_MS,
        });
        if (typeof opened.url !== "string" || !/^wss?:\/\//.test(opened.url))
          throw new PlatformError("protocol", "apps.connections.open answered without a WebSocket URL");
        ctx.progress();
        const ended = await connection(opened.url, me);
        if (ctx.signal.aborted) return;
        ctx.log.info(
          "slack.rotate",
          `Slack refreshed the Socket Mode connection (${ended.reason}); reconnecting`,
          {
            reason: ended.reason,
          },
        );
      }
    },

    async send(message: OutboundMessage) {
      const parts = splitText(message.text, ctx.manifest.messageLimit);
      const thread = message.inReplyTo ? threads.get(message.inReplyTo) : undefined;
      await deliveredParts.send(message.id, parts, (part) =>
        api.call(
          "chat.postMessage",
          "bot",
          { channel: message.chatId, text: part, ...(thread ? { thread_ts: thread } : {}) },
          { timeoutMs: REQUEST_TIMEOUT_MS },
        ),
      );
    },
  };
}

/**
 * An events_api payload as a gateway message, or undefined for anything that is not a person's text message
 * (bots, ourselves, edits and other subtypes, events we do not subscribe to).
 */
export function normalize(
  payload: unknown,
  me: SlackIdentity,
  platform = "slack",
): { inbound: InboundMessage; threadTs?: string } | undefined {
  const p = payload as { type?: unknown; event?: unknown } | null;
  if (!p || typeof p !== "object" || p.type !== "event_callback") return undefined;
  const e = p.event as Record<string, unknown> | null;
  if (!e || typeof e !== "object") return undefined;
  if (e.type !== "message" && e.type !== "app_mention") return undefined;
  if (e.subtype !== undefined && !TAKEN_SUBTYPES.has(String(e.subtype))) return undefined;
  if (e.bot_id !== undefined || e.user === me.userId) return undefined;
  const { channel, user, text, ts } = e;
  if (typeof channel !== "string" || typeof user !== "string" || typeof text !== "string") return undefined;
  if (typeof ts !== "string" || !/^\d+\.\d+$/.test(ts)) return undefined;
  const group = typeof e.channel_type === "string" ? e.channel_type !== "im" : !channel.startsWith("D");
  const mentioned = e.type === "app_mention" || text.includes(`<@${me.userId}>`);
  const threadTs = typeof e.thread_ts === "string" && e.thread_ts !== ts ? e.thread_ts : undefined;
  return {
    inbound: {
      platform,
      chatId: channel,
      userId: user,
      // A ts is unique within its channel, and the same for a message's `message` and `app_mention` events and
      // for every redelivery: the gateway's de-duplication sees one message.
      messageId: `${channel}:${ts}`,
      text,
      at: new Date(Number(ts) * 1000),
      ...(group ? { group: true, mentioned } : {}),
    },
    ...(threadTs ? { threadTs } : {}),
  };
}

function describeError(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return e?.code ?? e?.message ?? String(error);
}
