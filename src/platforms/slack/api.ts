/**
 * The Slack Web API over fetch: `POST ${api_base}/<method>`, the token in `Authorization: Bearer`, one envelope
 * `{ok, error}` answered with HTTP 200 even for errors (429 with Retry-After is the other status that matters).
 * Every failure leaves as a PlatformError whose kind the supervisor and the outbox act on; the table below is
 * the classification, as data. Messages name the token's kind and variable, never its value.
 */
import { type FetchLike, outboundFetch } from "../../runtime/fetch.ts";
import { PlatformError, type PlatformErrorKind } from "../adapter.ts";
import { apiRequest, hostOf, rateLimited } from "../http.ts";

export const DEFAULT_API_BASE = "https://slack.com/api";

/** Slack's `error` codes by what can be done about them; any other code is `protocol` (this request is wrong). */
export const ERROR_KINDS: Readonly<Record<string, PlatformErrorKind>> = {
  // The credentials: only a person can fix them (SPEC §5 `failed`).
  not_authed: "auth",
  invalid_auth: "auth",
  account_inactive: "auth",
  token_revoked: "auth",
  token_expired: "auth",
  user_removed_from_team: "auth",
  team_disabled: "auth",
  not_allowed_token_type: "auth",
  missing_scope: "auth",
  no_permission: "auth",
  ekm_access_denied: "auth",
  // Slack's side: try again later.
  internal_error: "transient",
  fatal_error: "transient",
  service_unavailable: "transient",
  request_timeout: "transient",
  ratelimited: "rate_limit",
};

export type TokenKind = "bot" | "app";

const TOKEN_WORDS: Record<TokenKind, string> = {
  bot: "bot token (SLACK_BOT_TOKEN or platforms.slack.bot_token)",
  app: "app-level token (SLACK_APP_TOKEN or platforms.slack.app_token)",
};

export interface CallOptions {
  signal?: AbortSignal;
  /** Abandons the request after this long (a half-open connection never answers). */
  timeoutMs: number;
}

export interface SlackApiOptions {
  base?: string;
  fetch?: FetchLike;
}

export class SlackApi {
  readonly #base: string;
  readonly #fetch: FetchLike;
  readonly #tokens: Record<TokenKind, string>;

  constructor(tokens: Record<TokenKind, string>, options: SlackApiOptions = {}) {
    this.#tokens = tokens;
    this.#base = (options.base ?? DEFAULT_API_BASE).replace(/\/+$/, "");
    this.#fetch = options.fetch ?? outboundFetch;
  }

  /** The host requests go to, for messages. */
  get host(): string {
    return hostOf(this.#base);
  }

  /** Calls `method` with the `token` kind; resolves with the whole `ok` body, or throws a classified PlatformError. */
  async call<T extends object>(
    method: string,
    token: TokenKind,
    params: Record<string, unknown> | undefined,
    options: CallOptions,
  ): Promise<T> {
    const answer = await apiRequest(
      this.#fetch,
      `${this.#base}/${method}`,
      {
        method: "POST",
        headers: {
          authorization: `Bearer ${this.#tokens[token]}`,
          // Methods without arguments take the form encoding Slack documents for them (apps.connections.open).
          "content-type": params ? "application/json; charset=utf-8" : "application/x-www-form-urlencoded",
        },
        body: params ? JSON.stringify(params) : "",
      },
      {
        what: method,
        host: this.host,
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        secrets: Object.values(this.#tokens),
      },
    );
    return parseAnswer<T>(method, token, answer.status, answer.retryAfter, answer.text, this.host);
  }
}

/** Seconds in a Retry-After header, as milliseconds; undefined when absent or not a number. */
export function retryAfterMs(header: string | null): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** Reads an answer: the `ok` body, or a PlatformError classified by HTTP status, then by ERROR_KINDS. */
export function parseAnswer<T extends object>(
  method: string,
  token: TokenKind,
  status: number,
  retryAfter: string | null,
  text: string,
  host: string,
): T {
  if (status === 429) throw rateLimited(method, retryAfterMs(retryAfter));
  if (status !== 200)
    throw new PlatformError(
      status >= 500 ? "transient" : "protocol",
      `${method}: ${host} answered HTTP ${status}`,
    );
  let body: { ok?: unknown; error?: unknown };
  try {
    body = JSON.parse(text);
  } catch {
    throw new PlatformError("transient", `${method}: ${host} answered a body that is not JSON`);
  }
  if (body?.ok === true) return body as T;
  const code = typeof body?.error === "string" ? body.error : "no error code";
  const kind = ERROR_KINDS[code] ?? "protocol";
  if (kind === "auth")
    throw new PlatformError(
      "auth",
      `Slack rejected the ${TOKEN_WORDS[token]}: ${code} on ${method}${hintFor(code, token)}`,
    );
  if (kind === "rate_limit")
    throw new PlatformError("rate_limit", `${method}: rate limited (${code})`, retryAfterMs(retryAfter));
  throw new PlatformError(kind, `${method} failed: ${code}`);
}

function hintFor(code: string, token: TokenKind): string {
  if (code === "not_allowed_token_type")
    return token === "app"
      ? "; app_token must be an app-level token (xapp-…), bot_token the bot token (xoxb-…)"
      : "; bot_token must be the bot token (xoxb-…), app_token the app-level token (xapp-…)";
  if (code === "missing_scope")
    return token === "app"
      ? "; give the app-level token the connections:write scope"
      : "; add the bot scopes chat:write, app_mentions:read and the im/channels history scopes, then reinstall the app";
  return "";
}
