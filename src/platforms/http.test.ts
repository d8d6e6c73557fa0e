import { describe, expect, it } from "vitest";
import type { FetchLike } from "../runtime/fetch.ts";
import { PlatformError } from "./adapter.ts";
import { apiRequest, hostOf, rateLimited, redact } from "./http.ts";

const SECRET = "7312846519:AAHunitSecretTokenValue";
const options = { what: "getMe", host: "api.example.test", timeoutMs: 1000, secrets: [SECRET] };

const failWith =
  (error: unknown): FetchLike =>
  () =>
    Promise.reject(error);

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("apiRequest", () => {
  it("reads the status, the body and Retry-After", async () => {
    const fetch: FetchLike = async () =>
      new Response('{"ok":true}', { status: 429, headers: { "retry-after": "3" } });
    expect(await apiRequest(fetch, "http://x/", {}, options)).toEqual({
      status: 429,
      text: '{"ok":true}',
      retryAfter: "3",
    });
  });

  it("a network failure is transient, names the host and its code, and never carries a secret", async () => {
    const error = new TypeError(`fetch failed for http://x/bot${SECRET}/getMe`, {
      cause: { message: `connect to /bot${SECRET} refused` },
    });
    const failure = await caught(apiRequest(failWith(error), "http://x/", {}, options));
    expect(failure).toBeInstanceOf(PlatformError);
    expect(failure).toMatchObject({ kind: "transient" });
    expect((failure as Error).message).toBe(
      "cannot reach api.example.test: connect to /bot<redacted> refused",
    );

    const coded = Object.assign(new Error("boom"), { code: "ECONNREFUSED" });
    const refused = await caught(apiRequest(failWith(coded), "http://x/", {}, options));
    expect((refused as Error).message).toBe("cannot reach api.example.test: ECONNREFUSED");
  });

  it("a missed deadline is transient, with the deadline options", async () => {
    const hang: FetchLike = (_url, init) =>
      new Promise((_resolve, reject) =>
        init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)),
      );
    const cause = new Error("stale");
    const failure = await caught(
      apiRequest(hang, "http://x/", {}, { ...options, timeoutMs: 20, deadlineOptions: { cause } }),
    );
    expect(failure).toMatchObject({
      kind: "transient",
      message: "getMe got no answer from api.example.test within 0.02 s",
      cause,
    });
  });

  it("the caller's abort is rethrown as its reason, not classified", async () => {
    const controller = new AbortController();
    const reason = new Error("stopping");
    controller.abort(reason);
    const failure = await caught(
      apiRequest(failWith(new Error("aborted")), "http://x/", {}, { ...options, signal: controller.signal }),
    );
    expect(failure).toBe(reason);
  });
});

describe("the shared pieces", () => {
  it("rateLimited names the wait when there is one", () => {
    expect(rateLimited("sendMessage", 1500)).toMatchObject({
      kind: "rate_limit",
      retryAfterMs: 1500,
      message: "sendMessage: rate limited (429), retry after 1.5 s",
    });
    expect(rateLimited("POST /x", undefined, "global rate limit").message).toBe(
      "POST /x: global rate limit (429)",
    );
  });

  it("redact skips empty secrets; hostOf falls back to the base", () => {
    expect(redact("a-b-a", ["a", ""])).toBe("<redacted>-b-<redacted>");
    expect(hostOf("http://127.0.0.1:8080/api")).toBe("127.0.0.1:8080");
    expect(hostOf("not a url")).toBe("not a url");
  });
});
