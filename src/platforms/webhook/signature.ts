/**
 * Webhook signatures: `X-Hermes-Signature: sha256=<lowercase hex HMAC-SHA256>` keyed with the secret's UTF-8
 * bytes, over the raw body, or over `<timestamp>.<body>` when `X-Hermes-Timestamp` (unix seconds) is sent.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-hermes-signature";
export const TIMESTAMP_HEADER = "x-hermes-timestamp";
/** A signed timestamp more than this far from our clock is refused (replay protection). */
export const MAX_SKEW_SECONDS = 300;

export function sign(secret: string, body: string, timestamp?: number): string {
  const payload = timestamp === undefined ? body : `${timestamp}.${body}`;
  return `sha256=${createHmac("sha256", Buffer.from(secret, "utf8")).update(payload, "utf8").digest("hex")}`;
}

export type Verdict = { ok: true } | { ok: false; reason: string };

export function verify(
  secret: string,
  body: string,
  signature: string | null,
  timestamp: string | null,
  nowSeconds: number,
): Verdict {
  if (!signature) return { ok: false, reason: "missing X-Hermes-Signature" };
  let ts: number | undefined;
  if (timestamp !== null) {
    if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "X-Hermes-Timestamp is not unix seconds" };
    ts = Number(timestamp);
    if (Math.abs(nowSeconds - ts) > MAX_SKEW_SECONDS)
      return { ok: false, reason: "X-Hermes-Timestamp is more than 5 minutes off" };
  }
  const expected = Buffer.from(sign(secret, body, ts));
  const given = Buffer.from(signature.trim().toLowerCase());
  // Compared in constant time; a length mismatch is already a mismatch.
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: "signature does not match" };
  return { ok: true };
}
