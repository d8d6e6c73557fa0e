/**
 * The Bot API over fetch: `${api_base}/bot${token}/${method}`, JSON bodies, one envelope
 * `{ok, result | error_code, description, parameters}`. Every failure comes out as a PlatformError whose kind
 * the supervisor and the outbox act on, and whose message never carries the token (it is in every URL).
 */
import { type FetchLike, outboundFetch } from "../../runtime/fetch.ts";
import { PlatformError } from "../adapter.ts";
import { apiRequest, hostOf, rateLimited, redact } from "../http.ts";

export const DEFAULT_API_BASE = "https://api.telegram.org";
/** A 409 (another poller, a webhook set) is retried at least every 5 minutes, whatever reconnect.max says. */
export const CONFLICT_BACKOFF_CAP_MS = 5 * 60_000;

export interface BotApiOptions {
  token: string;
  /** `api_base`: a self-hosted Bot API server, a proxy or a test server. */
  base?: string;
  fetch?: FetchLike;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Abandons the request after this long (a half-open connection never answers). */
  timeoutMs: number;
}

export interface TelegramUser {
  id: number;
  is_bot?: boolean;
  first_name?: string;
  username?: string;
}

/** A Bot API call that did not succeed, before it is classified. */
class StaleRequest extends Error {}

export class BotApi {
  readonly #token: string;
  readonly #base: string;
  readonly #fetch: FetchLike;

  constructor(options: BotApiOptions) {
    this.#token = options.token;
    this.#base = (options.base ?? DEFAULT_API_BASE).replace(/\/+$/, "");
    this.#fetch = options.fetch ?? outboundFetch;
  }

  /** The host requests go to, for messages (never the URL: it holds the token). */
  get host(): string {
    return hostOf(this.#base);
  }

  /** Calls `method`; resolves with `result`, or throws a classified PlatformError. */
  async call<T>(method: string, params: Record<string, unknown>, options: CallOptions): Promise<T> {
    const answer = await apiRequest(
      this.#fetch,
      `${this.#base}/bot${this.#token}/${method}`,
      { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(params) },
      {
        what: method,
        host: this.host,
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        secrets: [this.#token],
        deadlineOptions: { cause: new StaleRequest() },
      },
    );
    return parseEnvelope<T>(method, answer.status, answer.text, this.host, this.#token);
  }
}

/** Whether a PlatformError from `call` is a request abandoned at its deadline (a stale poll). */
export function isStale(error: unknown): boolean {
  return error instanceof PlatformError && error.cause instanceof StaleRequest;
}

/** Reads the envelope; non-ok answers become PlatformErrors classified as SPEC §3 and protocols §8 say. */
export function parseEnvelope<T>(method: string, status: number, text: string, host: string, token = ""): T {
  let body: { ok?: unknown; result?: unknown; description?: unknown; parameters?: { retry_after?: unknown } };
  try {
    body = JSON.parse(text);
  } catch {
    if (status === 401 || status === 404) throw rejected(status, method);
    throw new PlatformError(
      status >= 500 || status === 0 ? "transient" : "protocol",
      `${method}: ${host} answered HTTP ${status} with a body that is not JSON`,
    );
  }
  if (body && typeof body === "object" && body.ok === true && "result" in body) return body.result as T;
  const description =
    typeof body?.description === "string" ? redact(body.description, [token]) : "no description";
  if (status === 401 || status === 404) throw rejected(status, method, description);
  if (status === 409)
    throw new PlatformError(
      "transient",
      `conflict (409): ${description}; another instance is polling with this token, or a webhook is set`,
      undefined,
      { announce: true, backoffCapMs: CONFLICT_BACKOFF_CAP_MS },
    );
  if (status === 429) {
    const after = Number(body?.parameters?.retry_after);
    throw rateLimited(method, Number.isFinite(after) && after >= 0 ? after * 1000 : undefined);
  }
  if (status >= 500 || status < 400)
    throw new PlatformError("transient", `${method}: ${host} answered HTTP ${status}: ${description}`);
  throw new PlatformError("protocol", `${method} refused (HTTP ${status}): ${description}`);
}

function rejected(status: number, method: string, description = ""): PlatformError {
  return new PlatformError(
    "auth",
    `the Bot API rejected the token (${status}${description ? ` ${description}` : ""} on ${method}); check TELEGRAM_BOT_TOKEN or platforms.telegram.token`,
  );
}
