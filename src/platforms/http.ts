/**
 * What the platforms' HTTP APIs (Telegram, Discord, Slack) have in common: one request with a deadline whose
 * failures to get an answer become `transient` PlatformErrors, a 429 as `rate_limit`, and messages that never
 * carry a secret. Each platform reads its own answers (envelopes, error tables) in its folder.
 */
import type { FetchLike } from "../runtime/fetch.ts";
import { PlatformError } from "./adapter.ts";

/** The host of an API base, for messages (never the URL itself: Telegram's holds the token). */
export function hostOf(base: string): string {
  try {
    return new URL(base).host;
  } catch {
    return base;
  }
}

/** `text` with every non-empty secret replaced by `<redacted>`. */
export function redact(text: string, secrets: readonly string[]): string {
  let redacted = text;
  for (const secret of secrets) if (secret) redacted = redacted.split(secret).join("<redacted>");
  return redacted;
}

/** What an API answered, before the platform reads it. */
export interface HttpAnswer {
  status: number;
  text: string;
  retryAfter: string | null;
}

export interface ApiRequestOptions {
  /** Names the request in messages (`sendMessage`, `POST /channels/{id}/messages`). */
  what: string;
  host: string;
  /** Abandons the request after this long (a half-open connection never answers). */
  timeoutMs: number;
  /** The caller's abort: its reason is rethrown as it is, not classified. */
  signal?: AbortSignal;
  /** Values scrubbed from network error messages. */
  secrets: readonly string[];
  /** Extra options of the PlatformError for a missed deadline (Telegram marks a stale poll with its cause). */
  deadlineOptions?: ConstructorParameters<typeof PlatformError>[3];
}

/**
 * Sends one request and reads its body. A missed deadline or a network failure becomes a `transient`
 * PlatformError naming the host; the caller's own abort is rethrown.
 */
export async function apiRequest(
  fetch: FetchLike,
  url: string,
  init: Omit<RequestInit, "signal">,
  options: ApiRequestOptions,
): Promise<HttpAnswer> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  try {
    const response = await fetch(url, { ...init, signal });
    const retryAfter = response.headers.get("retry-after");
    return { status: response.status, retryAfter, text: await response.text() };
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason ?? error;
    if (deadline.aborted)
      throw new PlatformError(
        "transient",
        `${options.what} got no answer from ${options.host} within ${options.timeoutMs / 1000} s`,
        undefined,
        options.deadlineOptions,
      );
    throw new PlatformError(
      "transient",
      `cannot reach ${options.host}: ${redact(networkReason(error), options.secrets)}`,
    );
  }
}

/** The short reason of a network failure: the system code (ECONNREFUSED) when there is one. */
function networkReason(error: unknown): string {
  const e = error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  return String(e?.cause?.code ?? e?.code ?? e?.cause?.message ?? e?.message ?? error);
}

/** A 429 as a `rate_limit` PlatformError, with the wait when the platform said one. */
export function rateLimited(
  what: string,
  afterMs: number | undefined,
  scope = "rate limited",
): PlatformError {
  return new PlatformError(
    "rate_limit",
    `${what}: ${scope} (429)${afterMs === undefined ? "" : `, retry after ${afterMs / 1000} s`}`,
    afterMs,
  );
}
