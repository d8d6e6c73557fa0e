import { describe, expect, it } from "vitest";
import { PlatformError } from "../adapter.ts";
import { normalize } from "./adapter.ts";
import { ERROR_KINDS, parseAnswer, retryAfterMs } from "./api.ts";

const answer = (status: number, body: unknown, retryAfter: string | null = null) => {
  try {
    parseAnswer("chat.postMessage", "bot", status, retryAfter, JSON.stringify(body), "slack.com");
    return undefined;
  } catch (error) {
    return error as PlatformError;
  }
};

describe("Slack Web API answers, classified", () => {
  it.each([
    ["invalid_auth", "auth"],
    ["not_authed", "auth"],
    ["account_inactive", "auth"],
    ["token_revoked", "auth"],
    ["team_disabled", "auth"],
    ["internal_error", "transient"],
    ["ratelimited", "rate_limit"],
    ["channel_not_found", "protocol"],
    ["not_in_channel", "protocol"],
    ["msg_too_long", "protocol"],
    ["a_code_slack_adds_later", "protocol"],
  ])("ok:false with %s is %s", (code, kind) => {
    const error = answer(200, { ok: false, error: code });
    expect(error).toBeInstanceOf(PlatformError);
    expect(error?.kind).toBe(kind);
    expect(error?.message).toContain(code);
  });

  it("every code in the table is one of the four kinds", () => {
    for (const kind of Object.values(ERROR_KINDS))
      expect(["auth", "transient", "rate_limit", "protocol"]).toContain(kind);
  });

  it("429 honours Retry-After in seconds, and without one leaves the wait to the backoff", () => {
    expect(answer(429, { ok: false, error: "ratelimited" }, "12")).toMatchObject({
      kind: "rate_limit",
      retryAfterMs: 12_000,
      message: "chat.postMessage: rate limited (429), retry after 12 s",
    });
    expect(answer(429, { ok: false, error: "ratelimited" })?.retryAfterMs).toBeUndefined();
    expect(retryAfterMs("soon")).toBeUndefined();
    expect(retryAfterMs("0")).toBe(0);
  });

  it("5xx and bodies that are not JSON are transient; other statuses are protocol errors", () => {
    expect(answer(503, "")?.kind).toBe("transient");
    expect(answer(404, "")).toMatchObject({
      kind: "protocol",
      message: "chat.postMessage: slack.com answered HTTP 404",
    });
    let thrown: unknown;
    try {
      parseAnswer("auth.test", "bot", 200, null, "<html>", "slack.com");
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({
      kind: "transient",
      message: "auth.test: slack.com answered a body that is not JSON",
    });
  });

  it("an ok answer is returned whole", () => {
    expect(parseAnswer("auth.test", "bot", 200, null, '{"ok":true,"user_id":"U1"}', "slack.com")).toEqual({
      ok: true,
      user_id: "U1",
    });
  });
});

describe("Slack events, normalised", () => {
  const me = { userId: "U0BOT" };
  const payload = (event: Record<string, unknown>) => ({ type: "event_callback", event_id: "Ev1", event });
  const base = { type: "message", channel: "D01", user: "U01", text: "hi", ts: "1700000000.000100" };

  it("a direct message: chat, user, channel:ts as id, the time from ts", () => {
    expect(normalize(payload({ ...base, channel_type: "im" }), me)).toEqual({
      inbound: {
        platform: "slack",
        chatId: "D01",
        userId: "U01",
        messageId: "D01:1700000000.000100",
        text: "hi",
        at: new Date(1_700_000_000_000),
      },
    });
  });

  it.each([
    ["a bot's message", { bot_id: "B1" }],
    ["our own message", { user: "U0BOT" }],
    ["an edit", { subtype: "message_changed" }],
    ["a deletion", { subtype: "message_deleted" }],
    ["a join", { subtype: "channel_join" }],
    ["a reaction event", { type: "reaction_added" }],
    ["no text", { text: undefined }],
    ["a malformed ts", { ts: "yesterday" }],
  ])("%s is not for the agent", (_what, change) => {
    expect(normalize(payload({ ...base, ...change }), me)).toBeUndefined();
  });

  it("thread broadcasts count, and a threaded message remembers its thread", () => {
    const m = normalize(
      payload({ ...base, subtype: "thread_broadcast", thread_ts: "1699999999.000001" }),
      me,
    );
    expect(m?.threadTs).toBe("1699999999.000001");
    expect(m?.inbound.text).toBe("hi");
  });

  it("without channel_type, a D channel is a direct message and anything else a group", () => {
    const mention = { ...base, type: "app_mention", channel: "C01", text: "<@U0BOT> hi" };
    expect(normalize(payload(mention), me)?.inbound).toMatchObject({ group: true, mentioned: true });
    expect(normalize(payload({ ...base, channel_type: "mpim", text: "x" }), me)?.inbound).toMatchObject({
      group: true,
      mentioned: false,
    });
  });
});
