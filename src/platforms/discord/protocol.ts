/**
 * Gateway v10 as data and pure functions: the close-code table, intents, the ACK deadline, and one transition
 * per received frame (`onFrame`) that says what to do next. The adapter only performs the actions (sockets,
 * timers, the journal), so every protocol decision is testable without a network.
 */
import type { InboundMessage, PlatformErrorKind } from "../adapter.ts";
import { DISCORD_INTENTS } from "./manifest.ts";

export const GATEWAY_VERSION = "10";

/** Intents a chat bot needs: guild and direct messages, and their text (MESSAGE_CONTENT is privileged). */
export const DEFAULT_INTENTS =
  (DISCORD_INTENTS.GUILDS ?? 0) |
  (DISCORD_INTENTS.GUILD_MESSAGES ?? 0) |
  (DISCORD_INTENTS.DIRECT_MESSAGES ?? 0) |
  (DISCORD_INTENTS.MESSAGE_CONTENT ?? 0);

/** Privileged intents by name: each must be switched on for the bot in the Developer Portal. */
export const PRIVILEGED_INTENTS: Record<string, number> = {
  GUILD_MEMBERS: 1 << 1,
  GUILD_PRESENCES: 1 << 8,
  MESSAGE_CONTENT: 1 << 15,
};

/** The `intents` option (names or a bit field) as a bit field; absent: DEFAULT_INTENTS. */
export function resolveIntents(option: unknown): number {
  if (typeof option === "number") return option;
  if (Array.isArray(option))
    return option.reduce((bits: number, name) => bits | (DISCORD_INTENTS[name] ?? 0), 0);
  return DEFAULT_INTENTS;
}

/** An ACK must follow a heartbeat within this long, else the connection is a zombie (SPEC §5). */
export function ackDeadlineMs(heartbeatIntervalMs: number): number {
  return Math.min(heartbeatIntervalMs / 4, 10_000);
}

/** What to do after a close: stop (`fatal`: state `failed`), resume the session, or identify anew. */
export type CloseAction = "fatal" | "resume" | "identify";

/**
 * The docs' close-code table (its Reconnect and Resume columns). Codes not listed (1006 a dropped connection,
 * 1011, …) keep the session: Discord keeps it resumable for a few minutes after anything but 1000/1001.
 */
export const CLOSE_CODES: Record<number, { name: string; action: CloseAction; plain?: string }> = {
  1000: { name: "Normal closure", action: "identify" },
  1001: { name: "Going away", action: "identify" },
  4000: { name: "Unknown error", action: "resume" },
  4001: { name: "Unknown opcode", action: "identify" },
  4002: { name: "Decode error", action: "resume" },
  4003: { name: "Not authenticated", action: "identify" },
  4004: {
    name: "Authentication failed",
    action: "fatal",
    plain: "Discord rejected the bot token; check DISCORD_BOT_TOKEN or platforms.discord.token",
  },
  4005: { name: "Already authenticated", action: "identify" },
  4007: { name: "Invalid seq", action: "identify" },
  4008: { name: "Rate limited", action: "resume" },
  4009: { name: "Session timed out", action: "identify" },
  4010: {
    name: "Invalid shard",
    action: "fatal",
    plain: "Discord refused the shard this bot identified with",
  },
  4011: {
    name: "Sharding required",
    action: "fatal",
    plain:
      "the bot is in too many guilds for one connection: Discord requires sharding, which hermes does not do",
  },
  4012: { name: "Invalid API version", action: "fatal", plain: "Discord refused gateway version 10" },
  4013: {
    name: "Invalid intent(s)",
    action: "fatal",
    plain: "Discord refused the intents as invalid; check platforms.discord.intents",
  },
  4014: { name: "Disallowed intent(s)", action: "fatal" },
};

export interface CloseVerdict {
  action: CloseAction;
  /** For the state's reason: plain words, the code and its name. */
  reason: string;
}

/** Classifies a close from the server; `intents` is what was asked for (4014 names the privileged ones). */
export function classifyClose(code: number, intents: number): CloseVerdict {
  const entry = CLOSE_CODES[code];
  const named = `close ${code}${entry ? ` ${entry.name}` : ""}`;
  if (!entry)
    return {
      action: "resume",
      reason:
        code === 1006
          ? "the gateway connection was lost (1006)"
          : `the gateway closed the connection (${named})`,
    };
  if (code === 4014) {
    const names = Object.entries(PRIVILEGED_INTENTS)
      .filter(([, bit]) => (intents & bit) !== 0)
      .map(([name]) => name);
    const which = names.length === 0 ? "a privileged intent" : `privileged intent ${names.join(", ")}`;
    return {
      action: "fatal",
      reason: `${which} not enabled for this bot (${named}); switch it on in the Developer Portal, Bot page, or drop it from platforms.discord.intents`,
    };
  }
  if (entry.plain) return { action: entry.action, reason: `${entry.plain} (${named})` };
  return { action: entry.action, reason: `the gateway closed the connection (${named})` };
}

/** The resumable session: kept across connections, dropped when the server says it is gone. */
export interface GatewaySession {
  id: string;
  resumeUrl: string;
  /** The last sequence number whose dispatch is fully handled (journalled): a resume replays after it. */
  seq: number;
}

export interface Payload {
  op: number;
  d: unknown;
  s: number | null;
  t: string | null;
}

/** A frame as a payload, or undefined when it is not one (never throws). */
export function parsePayload(text: string): Payload | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return undefined;
  const p = value as Record<string, unknown>;
  if (typeof p.op !== "number") return undefined;
  return {
    op: p.op,
    d: p.d ?? null,
    s: typeof p.s === "number" && Number.isSafeInteger(p.s) ? p.s : null,
    t: typeof p.t === "string" ? p.t : null,
  };
}

/** The state of one gateway connection. */
export interface ConnectionState {
  phase: "hello" | "handshake" | "ready";
  /** Resuming this session, or identifying (null). */
  session: GatewaySession | null;
  /** The highest sequence number received (a heartbeat carries it). */
  lastSeq: number | null;
  botId: string | null;
}

export interface Identity {
  token: string;
  intents: number;
  platform: string;
}

export type Action =
  | { do: "send"; payload: { op: number; d: unknown } }
  | { do: "heartbeat"; intervalMs: number; now: boolean }
  | { do: "ack" }
  | { do: "connected" }
  /** The session to keep from now on (READY); the adapter stores it. */
  | { do: "session"; session: GatewaySession }
  | { do: "message"; message: InboundMessage; seq: number }
  /** A dispatch that needs no handling: its sequence number counts as handled once those before it are. */
  | { do: "handled"; seq: number }
  | { do: "ignore"; why: string }
  | {
      do: "end";
      kind: PlatformErrorKind;
      reason: string;
      /** Reconnect at once (server-initiated rotation is normal, not a failure to back off from). */
      immediately: boolean;
      keepSession: boolean;
    };

export function initialState(session: GatewaySession | null): ConnectionState {
  return { phase: "hello", session, lastSeq: session?.seq ?? null, botId: null };
}

/** The heartbeat payload for `state`. */
export function heartbeat(state: ConnectionState): { op: number; d: unknown } {
  return { op: 1, d: state.lastSeq };
}

/** One frame received: the next state and what to do. */
export function onFrame(
  state: ConnectionState,
  frame: Payload,
  identity: Identity,
): { state: ConnectionState; actions: Action[] } {
  const actions: Action[] = [];
  let next = state;
  if (frame.s !== null && (next.lastSeq === null || frame.s > next.lastSeq))
    next = { ...next, lastSeq: frame.s };
  switch (frame.op) {
    case 10: {
      const interval = (frame.d as { heartbeat_interval?: unknown } | null)?.heartbeat_interval;
      if (state.phase !== "hello") return { state: next, actions: [{ do: "ignore", why: "a second Hello" }] };
      if (typeof interval !== "number" || !(interval > 0))
        return {
          state: next,
          actions: [end("protocol", "Hello without a valid heartbeat_interval", false, true)],
        };
      actions.push({ do: "heartbeat", intervalMs: interval, now: false });
      actions.push({
        do: "send",
        payload: state.session
          ? { op: 6, d: { token: identity.token, session_id: state.session.id, seq: state.session.seq } }
          : {
              op: 2,
              d: {
                token: identity.token,
                intents: identity.intents,
                properties: { os: process.platform, browser: "hermes", device: "hermes" },
              },
            },
      });
      return { state: { ...next, phase: "handshake" }, actions };
    }
    case 11:
      return { state: next, actions: [{ do: "ack" }] };
    case 1:
      // The server asks for a beat now; it does not change the schedule.
      return { state: next, actions: [{ do: "heartbeat", intervalMs: 0, now: true }] };
    case 7:
      return {
        state: next,
        actions: [end("transient", "Discord asked for a reconnect (op 7)", true, true)],
      };
    case 9: {
      const resumable = frame.d === true && state.session !== null;
      return {
        state: next,
        actions: [
          resumable
            ? end("transient", "Discord invalidated the session (op 9), resumable: resuming", true, true)
            : end("transient", "Discord invalidated the session (op 9): identifying again", false, false),
        ],
      };
    }
    case 0:
      return onDispatch(next, frame, identity);
    default:
      return { state: next, actions: [{ do: "ignore", why: `unknown op ${frame.op}` }] };
  }
}

function onDispatch(
  state: ConnectionState,
  frame: Payload,
  identity: Identity,
): { state: ConnectionState; actions: Action[] } {
  const seq = frame.s;
  if (seq === null)
    return { state, actions: [{ do: "ignore", why: "a dispatch without a sequence number" }] };
  const d = frame.d as Record<string, unknown> | null;
  if (frame.t === "READY") {
    const user = d?.user as { id?: unknown } | undefined;
    if (
      state.phase !== "handshake" ||
      typeof d?.session_id !== "string" ||
      typeof d.resume_gateway_url !== "string" ||
      typeof user?.id !== "string"
    )
      return {
        state,
        actions: [
          { do: "handled", seq },
          { do: "ignore", why: "a malformed or late READY" },
        ],
      };
    const session = { id: d.session_id, resumeUrl: d.resume_gateway_url, seq };
    return {
      state: { ...state, phase: "ready", session, botId: user.id },
      actions: [{ do: "session", session }, { do: "handled", seq }, { do: "connected" }],
    };
  }
  if (frame.t === "RESUMED") {
    if (state.phase !== "handshake") return { state, actions: [{ do: "handled", seq }] };
    return { state: { ...state, phase: "ready" }, actions: [{ do: "handled", seq }, { do: "connected" }] };
  }
  if (frame.t === "MESSAGE_CREATE") {
    const message = toInbound(d, state.botId, identity.platform);
    if (!message) return { state, actions: [{ do: "handled", seq }] };
    return { state, actions: [{ do: "message", message, seq }] };
  }
  return { state, actions: [{ do: "handled", seq }] };
}

function end(kind: PlatformErrorKind, reason: string, immediately: boolean, keepSession: boolean): Action {
  return { do: "end", kind, reason, immediately, keepSession };
}

/**
 * MESSAGE_CREATE → a normalised message; undefined for what is not for the agent: malformed events, messages
 * of bots (the bot's own replies come back as MESSAGE_CREATE too: answering them would loop) and empty text.
 */
export function toInbound(
  d: Record<string, unknown> | null,
  botId: string | null,
  platform: string,
): InboundMessage | undefined {
  if (!d || typeof d !== "object") return undefined;
  const author = d.author as { id?: unknown; bot?: unknown } | undefined;
  if (typeof d.id !== "string" || typeof d.channel_id !== "string" || typeof d.content !== "string")
    return undefined;
  if (!author || typeof author !== "object" || typeof author.id !== "string") return undefined;
  if (author.bot === true || author.id === botId) return undefined;
  const mentions = Array.isArray(d.mentions) ? d.mentions : [];
  const mentionTag = botId ? new RegExp(`<@!?${botId}>`, "g") : undefined;
  const text = mentionTag ? d.content.replace(mentionTag, "").trim() : d.content;
  const mentioned =
    botId !== null &&
    (mentions.some((m) => (m as { id?: unknown } | null)?.id === botId) || text !== d.content.trim());
  if (text === "") return undefined;
  const at = typeof d.timestamp === "string" ? new Date(d.timestamp) : new Date();
  return {
    platform,
    chatId: d.channel_id,
    userId: author.id,
    messageId: d.id,
    text,
    at: Number.isNaN(at.getTime()) ? new Date() : at,
    group: typeof d.guild_id === "string",
    mentioned,
  };
}
