/**
 * Discord: Gateway v10 in, REST v10 out. One `run()` is one gateway connection: it identifies (URL from
 * `GET /gateway/bot`) or resumes (at `resume_gateway_url`, with the session and the last handled sequence),
 * beats with an initial jitter, and ends with a classified PlatformError whenever the connection does: a
 * heartbeat not ACKed within min(interval/4, 10 s) is a zombie (closed with 4200, resumed), op 7 and a
 * resumable op 9 reconnect at once, close 4004 and 4010–4014 are `auth` (state `failed`). The supervisor does
 * the reconnecting; the session outlives the connection here, by API base and token.
 */
import { splitText } from "../../outbox/split.ts";
import type { FetchLike } from "../../runtime/fetch.ts";
import { openWebSocket, type WebSocket } from "../../runtime/websocket.ts";
import { type Adapter, type AdapterContext, type OutboundMessage, PlatformError } from "../adapter.ts";
import { DeliveredParts } from "../delivered-parts.ts";
import {
  type Action,
  ackDeadlineMs,
  type ConnectionState,
  classifyClose,
  GATEWAY_VERSION,
  type GatewaySession,
  heartbeat,
  type Identity,
  initialState,
  onFrame,
  parsePayload,
  resolveIntents,
} from "./protocol.ts";
import { DEFAULT_API_BASE, DiscordRest } from "./rest.ts";

const REQUEST_TIMEOUT_MS = 30_000;
/** Code for closing a connection we mean to resume (not 1000/1001, which end the session; as discord.js). */
const CLOSE_TO_RESUME = 4200;
/** How long a closing socket may wait for the server's close frame before it is cut. */
const CLOSE_GRACE_MS = 1000;

/** Resumable sessions by API base and token: a new connection of the same bot resumes the last one. */
const sessions = new Map<string, GatewaySession>();
/** Parts of a split message already delivered, by message id: a retry resumes instead of repeating them. */
const deliveredParts = new DeliveredParts();

export interface DiscordAdapterOptions {
  fetch?: FetchLike;
  /** The random source of the first heartbeat's jitter. */
  random?: () => number;
}

export function createDiscordAdapter(ctx: AdapterContext, options: DiscordAdapterOptions = {}): Adapter {
  const token = ctx.credentials.token ?? "";
  const base = typeof ctx.block.api_base === "string" ? ctx.block.api_base : undefined;
  const rest = new DiscordRest({ token, base, fetch: options.fetch });
  const identity: Identity = {
    token,
    intents: resolveIntents(ctx.block.intents),
    platform: ctx.manifest.name,
  };
  const key = `${base ?? DEFAULT_API_BASE}\n${token}`;
  const random = options.random ?? Math.random;

  /** One gateway connection; rejects (always) with why it ended. */
  function connect(url: string, resume: GatewaySession | null): Promise<never> {
    return new Promise<never>((_, reject) => {
      let socket: WebSocket;
      try {
        socket = openWebSocket(url, { signal: ctx.signal });
      } catch (error) {
        reject(new PlatformError("protocol", `cannot open the gateway URL: ${String(error)}`));
        return;
      }
      let state: ConnectionState = initialState(resume);
      let ended = false;
      let opened = false;
      let socketError: string | undefined;
      let intervalMs = 0;
      let beatTimer: ReturnType<typeof setTimeout> | undefined;
      let ackTimer: ReturnType<typeof setTimeout> | undefined;
      let awaitingAck = false;
      // Sequence numbers count as handled in order, and only once the journal has their message.
      let handled: Promise<unknown> = Promise.resolve();
      let holding = false;

      const finish = (error: unknown, closeCode?: number) => {
        if (ended) return;
        ended = true;
        clearTimeout(beatTimer);
        clearTimeout(ackTimer);
        if (closeCode !== undefined && socket.readyState === socket.OPEN) {
          socket.close(closeCode, "reconnecting");
          // A dead path never answers the close frame: do not keep the socket for ws's 30 s close timeout.
          setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref?.();
        } else if (socket.readyState === socket.CONNECTING) socket.terminate();
        reject(error);
      };
      const onAbort = () => {
        // openWebSocket sends the close frame (4000, resumable); a dead path would never answer it.
        setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref?.();
        finish(
          ctx.signal.reason instanceof Error ? ctx.signal.reason : new PlatformError("transient", "stopped"),
        );
      };
      if (ctx.signal.aborted) return onAbort();
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      socket.once("close", () => ctx.signal.removeEventListener("abort", onAbort));

      const send = (payload: { op: number; d: unknown }) => {
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(payload));
      };
      const beat = () => {
        if (ended) return;
        send(heartbeat(state));
        if (awaitingAck) return;
        awaitingAck = true;
        const deadline = ackDeadlineMs(intervalMs);
        ackTimer = setTimeout(() => {
          if (!awaitingAck) return;
          ctx.count("zombie");
          ctx.log.warn("discord.zombie", `discord: no heartbeat ACK within ${deadline} ms; resuming`, {
            platform: ctx.manifest.name,
          });
          finish(
            new PlatformError(
              "transient",
              `zombie connection: no answer to a heartbeat within ${deadline} ms (ACK deadline); resuming`,
            ),
            CLOSE_TO_RESUME,
          );
        }, deadline);
      };
      const beatEvery = () => {
        beat();
        beatTimer = setTimeout(beatEvery, intervalMs);
      };
      const commit = (seq: number) => {
        const session = sessions.get(key);
        if (!holding && session && session.id === state.session?.id && seq > session.seq) session.seq = seq;
      };

      const perform = (action: Action) => {
        switch (action.do) {
          case "send":
            return send(action.payload);
          case "heartbeat":
            if (action.now) return beat();
            intervalMs = action.intervalMs;
            // The first beat at a random point of the interval, so that many clients do not beat in step.
            beatTimer = setTimeout(beatEvery, Math.floor(intervalMs * random()));
            return;
          case "ack":
            awaitingAck = false;
            clearTimeout(ackTimer);
            return;
          case "connected":
            return ctx.connected();
          case "session":
            sessions.set(key, { ...action.session });
            return;
          case "message": {
            const { seq } = action;
            const accepted = ctx.receive(action.message);
            handled = handled.then(async () => {
              try {
                const result = await accepted;
                if (result.status === "unavailable") holding = true;
              } catch {
                holding = true;
              }
              commit(seq);
            });
            return;
          }
          case "handled": {
            const { seq } = action;
            handled = handled.then(() => commit(seq));
            return;
          }
          case "ignore":
            ctx.log.debug("discord.ignored", `discord: ignored ${action.why}`, {
              platform: ctx.manifest.name,
            });
            return;
          case "end":
            if (!action.keepSession) sessions.delete(key);
            finish(
              new PlatformError(action.kind, action.reason, action.immediately ? 0 : undefined),
              action.keepSession ? CLOSE_TO_RESUME : 4000,
            );
            return;
        }
      };

      socket.on("open", () => {
        opened = true;
        ctx.progress();
      });
      socket.on("message", (data: Buffer, isBinary: boolean) => {
        if (ended) return;
        ctx.progress();
        const frame = isBinary ? undefined : parsePayload(data.toString("utf8"));
        if (!frame) {
          ctx.log.warn("discord.malformed", "discord: ignored a gateway frame that is not a JSON payload", {
            platform: ctx.manifest.name,
          });
          return;
        }
        const step = onFrame(state, frame, identity);
        state = step.state;
        for (const action of step.actions) {
          perform(action);
          if (ended) return;
        }
      });
      socket.on("error", (error: Error & { code?: string }) => {
        socketError = error.code ?? error.message;
      });
      socket.on("close", (code: number) => {
        if (ended) return;
        if (!opened) {
          const host = safeHost(url);
          return finish(
            new PlatformError("transient", `cannot reach the gateway at ${host}: ${socketError ?? code}`),
          );
        }
        const verdict = classifyClose(code, identity.intents);
        if (verdict.action !== "resume") sessions.delete(key);
        finish(new PlatformError(verdict.action === "fatal" ? "auth" : "transient", verdict.reason));
      });
    });
  }

  return {
    async run() {
      const session = sessions.get(key) ?? null;
      let url: string;
      if (session) url = session.resumeUrl;
      else {
        const info = await rest.request<{ url?: unknown } | null>("GET", "/gateway/bot", {
          timeoutMs: REQUEST_TIMEOUT_MS,
          signal: ctx.signal,
        });
        if (typeof info?.url !== "string")
          throw new PlatformError("protocol", "GET /gateway/bot answered without a gateway url");
        url = info.url;
      }
      ctx.progress();
      await connect(gatewayUrl(url), session);
    },

    async send(message: OutboundMessage) {
      if (!/^\d{1,20}$/.test(message.chatId))
        throw new PlatformError("protocol", `"${message.chatId}" is not a Discord channel id (a number)`);
      const parts = splitText(message.text, ctx.manifest.messageLimit);
      const replyTo =
        message.inReplyTo && /^\d{1,20}$/.test(message.inReplyTo) ? message.inReplyTo : undefined;
      await deliveredParts.send(message.id, parts, async (part, i) => {
        await rest.request("POST", `/channels/${message.chatId}/messages`, {
          body: {
            content: part,
            // The agent's text must not ping @everyone or anyone else.
            allowed_mentions: { parse: [] },
            ...(i === 0 && replyTo
              ? { message_reference: { message_id: replyTo, fail_if_not_exists: false } }
              : {}),
          },
          timeoutMs: REQUEST_TIMEOUT_MS,
        });
      });
    },
  };
}

/** The gateway URL with the version and encoding it must be opened with. */
export function gatewayUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PlatformError("protocol", `the gateway URL "${url}" is not a URL`);
  }
  parsed.searchParams.set("v", GATEWAY_VERSION);
  parsed.searchParams.set("encoding", "json");
  return parsed.toString();
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "the gateway";
  }
}
