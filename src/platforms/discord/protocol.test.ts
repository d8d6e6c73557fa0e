import { describe, expect, it } from "vitest";
import {
  ackDeadlineMs,
  CLOSE_CODES,
  classifyClose,
  DEFAULT_INTENTS,
  heartbeat,
  type Identity,
  initialState,
  onFrame,
  type Payload,
  parsePayload,
  resolveIntents,
  toInbound,
} from "./protocol.ts";

const ID: Identity = { token: "t0k", intents: (1 << 9) | (1 << 15), platform: "discord" };
const frame = (op: number, d: unknown = null, s: number | null = null, t: string | null = null): Payload => ({
  op,
  d,
  s,
  t,
});
const BOT = "123456789012345678";

describe("close codes", () => {
  it("4004 and 4010–4014 are fatal; 4014 names the privileged intents asked for", () => {
    for (const code of [4004, 4010, 4011, 4012, 4013, 4014])
      expect(classifyClose(code, 0).action).toBe("fatal");
    expect(classifyClose(4004, 0).reason).toMatch(/^Discord rejected the bot token/);
    expect(classifyClose(4014, ID.intents).reason).toMatch(
      /^privileged intent MESSAGE_CONTENT not enabled for this bot \(close 4014 Disallowed intent\(s\)\)/,
    );
    expect(classifyClose(4014, (1 << 1) | (1 << 15)).reason).toMatch(
      /^privileged intent GUILD_MEMBERS, MESSAGE_CONTENT/,
    );
  });

  it("follows the docs' Resume column for the rest; unknown codes and 1006 resume", () => {
    const resume = [4000, 4002, 4008, 1006, 1011, 4999];
    const identify = [1000, 1001, 4001, 4003, 4005, 4007, 4009];
    for (const code of resume) expect(classifyClose(code, 0).action, String(code)).toBe("resume");
    for (const code of identify) expect(classifyClose(code, 0).action, String(code)).toBe("identify");
    expect(Object.keys(CLOSE_CODES).filter((c) => Number(c) >= 4000)).toHaveLength(14);
  });
});

describe("intents and deadlines", () => {
  it("names become bits; a number is taken as is; absent is the chat default with MESSAGE_CONTENT", () => {
    expect(resolveIntents(["GUILD_MESSAGES", "MESSAGE_CONTENT"])).toBe((1 << 9) | (1 << 15));
    expect(resolveIntents(513)).toBe(513);
    expect(resolveIntents(undefined)).toBe(DEFAULT_INTENTS);
    expect(DEFAULT_INTENTS & (1 << 15)).toBe(1 << 15);
  });

  it("the ACK deadline is a quarter of the interval, at most 10 s", () => {
    expect(ackDeadlineMs(200)).toBe(50);
    expect(ackDeadlineMs(41_250)).toBe(10_000);
  });
});

describe("onFrame", () => {
  it("Hello without a session: heartbeat schedule, then Identify with the intents", () => {
    const { state, actions } = onFrame(initialState(null), frame(10, { heartbeat_interval: 41_250 }), ID);
    expect(state.phase).toBe("handshake");
    expect(actions[0]).toEqual({ do: "heartbeat", intervalMs: 41_250, now: false });
    expect(actions[1]).toMatchObject({
      do: "send",
      payload: { op: 2, d: { token: "t0k", intents: ID.intents } },
    });
  });

  it("Hello with a session: Resume with its id and handled sequence", () => {
    const session = { id: "s1", resumeUrl: "ws://x", seq: 41 };
    const { actions } = onFrame(initialState(session), frame(10, { heartbeat_interval: 100 }), ID);
    expect(actions[1]).toEqual({
      do: "send",
      payload: { op: 6, d: { token: "t0k", session_id: "s1", seq: 41 } },
    });
  });

  it("READY keeps the session and connects; a heartbeat carries the last sequence received", () => {
    const hello = onFrame(initialState(null), frame(10, { heartbeat_interval: 100 }), ID).state;
    const ready = onFrame(
      hello,
      frame(0, { session_id: "abc", resume_gateway_url: "ws://resume", user: { id: BOT } }, 1, "READY"),
      ID,
    );
    expect(ready.actions).toEqual([
      { do: "session", session: { id: "abc", resumeUrl: "ws://resume", seq: 1 } },
      { do: "handled", seq: 1 },
      { do: "connected" },
    ]);
    const later = onFrame(ready.state, frame(0, { x: 1 }, 7, "TYPING_START"), ID).state;
    expect(heartbeat(later)).toEqual({ op: 1, d: 7 });
  });

  it("op 7 and a resumable op 9 reconnect at once keeping the session; op 9 false drops it", () => {
    const session = { id: "s1", resumeUrl: "ws://x", seq: 3 };
    const state = initialState(session);
    expect(onFrame(state, frame(7), ID).actions[0]).toMatchObject({
      do: "end",
      immediately: true,
      keepSession: true,
    });
    expect(onFrame(state, frame(9, true), ID).actions[0]).toMatchObject({
      immediately: true,
      keepSession: true,
    });
    expect(onFrame(state, frame(9, false), ID).actions[0]).toMatchObject({
      immediately: false,
      keepSession: false,
    });
    expect(onFrame(initialState(null), frame(9, true), ID).actions[0]).toMatchObject({ keepSession: false });
  });

  it("a server op 1 asks for a beat now; op 11 is the ACK; unknown ops are ignored", () => {
    const state = initialState(null);
    expect(onFrame(state, frame(1), ID).actions).toEqual([{ do: "heartbeat", intervalMs: 0, now: true }]);
    expect(onFrame(state, frame(11), ID).actions).toEqual([{ do: "ack" }]);
    expect(onFrame(state, frame(42), ID).actions[0]).toMatchObject({ do: "ignore" });
  });
});

describe("parsePayload and toInbound", () => {
  it("rejects what is not a payload, without throwing", () => {
    for (const text of ["", "nope", "null", "[]", '{"op":"0"}', "{}"])
      expect(parsePayload(text)).toBeUndefined();
    expect(parsePayload('{"op":0,"s":"7","t":5,"d":{}}')).toEqual({ op: 0, d: {}, s: null, t: null });
  });

  const message = (over: Record<string, unknown> = {}) => ({
    id: "1300000000000000001",
    channel_id: "900",
    author: { id: "800" },
    content: "hi",
    timestamp: "2026-01-01T00:00:00.000Z",
    ...over,
  });

  it("normalises a direct message and a guild message that mentions the bot", () => {
    expect(toInbound(message(), BOT, "discord")).toMatchObject({
      chatId: "900",
      userId: "800",
      messageId: "1300000000000000001",
      text: "hi",
      group: false,
      mentioned: false,
    });
    expect(
      toInbound(
        message({ guild_id: "1", content: `<@${BOT}> hello`, mentions: [{ id: BOT }] }),
        BOT,
        "discord",
      ),
    ).toMatchObject({ text: "hello", group: true, mentioned: true });
  });

  it("skips bots (the bot's own replies included), empty text and malformed events", () => {
    expect(toInbound(message({ author: { id: "5", bot: true } }), BOT, "discord")).toBeUndefined();
    expect(toInbound(message({ author: { id: BOT } }), BOT, "discord")).toBeUndefined();
    expect(toInbound(message({ content: "" }), BOT, "discord")).toBeUndefined();
    expect(toInbound(message({ author: "x" }), BOT, "discord")).toBeUndefined();
    expect(toInbound(message({ id: 5 }), BOT, "discord")).toBeUndefined();
    expect(toInbound(null, BOT, "discord")).toBeUndefined();
  });
});
