import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sign, verify } from "./signature.ts";

const secret = "3f9a1c7e5b2d8f4a6c0e9b7d5f3a1c8e";
const body = '{"chat_id":"c","user_id":"u","text":"hi","message_id":"1"}';

describe("webhook signatures", () => {
  it("are lowercase hex HMAC-SHA256 of the body keyed with the secret's UTF-8 bytes", () => {
    expect(sign(secret, body)).toBe(`sha256=${createHmac("sha256", secret).update(body).digest("hex")}`);
    expect(sign(secret, body, 1700000000)).toBe(
      `sha256=${createHmac("sha256", secret).update(`1700000000.${body}`).digest("hex")}`,
    );
  });

  it("verify accepts a good signature, with or without a timestamp", () => {
    expect(verify(secret, body, sign(secret, body), null, 0)).toEqual({ ok: true });
    expect(verify(secret, body, sign(secret, body, 1000), "1000", 1200)).toEqual({ ok: true });
    expect(
      verify(secret, body, sign(secret, body).toUpperCase().replace("SHA256", "sha256"), null, 0),
    ).toEqual({ ok: true });
  });

  it.each([
    [null, null, "missing"],
    ["sha256=deadbeef", null, "does not match"],
    [sign("other-secret-value", body), null, "does not match"],
    [sign(secret, `${body} `), null, "does not match"],
    [sign(secret, body, 1000), "1000", "5 minutes"],
    [sign(secret, body, 1000), "1001", "does not match"],
    [sign(secret, body), "soon", "unix seconds"],
  ])("verify refuses %s (timestamp %s)", (signature, timestamp, why) => {
    const verdict = verify(secret, body, signature, timestamp, timestamp === "1000" ? 1000 + 301 : 1001);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.reason).toContain(why);
  });
});
