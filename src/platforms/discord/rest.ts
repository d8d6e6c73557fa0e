/**
 * Discord REST v10 over fetch: `${api_base}/v10/…` with `Authorization: Bot <token>`. Every failure comes out
 * as a PlatformError the supervisor and the outbox act on (401 → `auth`, 429 → `rate_limit` with the body's
 * `retry_after`, 5xx and the network → `transient`, other 4xx → `protocol`); no message carries the token.
 */
import { type FetchLike, outboundFetch } from "../../runtime/fetch.ts";
import { VERSION } from "../../version.ts";
import { PlatformError } from "../adapter.ts";
import { apiRequest, hostOf, rateLimited } from "../http.ts";

export const DEFAULT_API_BASE = "https://discord.com/api";

export interface DiscordRestOptions {
  token: string;
  /** `api_base`: a proxy or a test server. */
  base?: string;
  fetch?: FetchLike;
}

export interface DiscordUser {
  id: string;
  username?: string;
  bot?: boolean;
}

export class DiscordRest {
  readonly #token: string;
  readonly #base: string;
  readonly #fetch: FetchLike;

  constructor(options: DiscordRestOptions) {
    this.#token = options.token;
    this.#base = `${(options.base ?? DEFAULT_API_BASE).replace(/\/+$/, "")}/v10`;
    this.#fetch = options.fetch ?? outboundFetch;
  }

  /** The host requests go to, for messages. */
  get host(): string {
    return hostOf(this.#base);
  }

  /** Calls `route` (`/gateway/bot`); resolves with the JSON body, or throws a classified PlatformError. */
  async request<T>(
    method: "GET" | "POST",
    route: string,
    options: { body?: unknown; timeoutMs: number; signal?: AbortSignal },
  ): Promise<T> {
    const what = `${method} ${route.replace(/\/\d+\//, "/{id}/")}`;
    const answer = await apiRequest(
      this.#fetch,
      `${this.#base}${route}`,
      {
        method,
        headers: {
          authorization: `Bot ${this.#token}`,
          ...(options.body === undefined ? {} : { "content-type": "application/json" }),
          "user-agent": `DiscordBot (hermes, ${VERSION})`,
        },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      },
      { what, host: this.host, timeoutMs: options.timeoutMs, signal: options.signal, secrets: [this.#token] },
    );
    return parseResponse<T>(what, answer.status, answer.text, answer.retryAfter, this.host);
  }
}

/** Reads a REST answer; failures become PlatformErrors classified as protocols §8 says. */
export function parseResponse<T>(
  what: string,
  status: number,
  text: string,
  retryAfterHeader: string | null,
  host: string,
): T {
  let body: unknown;
  let parsed = true;
  try {
    body = text === "" ? null : JSON.parse(text);
  } catch {
    parsed = false;
  }
  if (status >= 200 && status < 300) {
    if (!parsed)
      throw new PlatformError(
        "transient",
        `${what}: ${host} answered HTTP ${status} with a body that is not JSON`,
      );
    return body as T;
  }
  const b = (parsed && body && typeof body === "object" ? body : {}) as {
    message?: unknown;
    code?: unknown;
    retry_after?: unknown;
    global?: unknown;
  };
  const message = typeof b.message === "string" ? b.message : `HTTP ${status}`;
  if (status === 401)
    throw new PlatformError(
      "auth",
      `Discord rejected the bot token (401 on ${what}); check DISCORD_BOT_TOKEN or platforms.discord.token`,
    );
  if (status === 429) {
    const seconds = Number(b.retry_after ?? retryAfterHeader);
    const afterMs = Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds * 1000) : undefined;
    throw rateLimited(what, afterMs, b.global === true ? "global rate limit" : "rate limited");
  }
  if (status >= 500)
    throw new PlatformError("transient", `${what}: ${host} answered HTTP ${status}: ${message}`);
  const code = typeof b.code === "number" ? ` code ${b.code}` : "";
  throw new PlatformError("protocol", `${what} refused (HTTP ${status}${code}): ${message}`);
}
