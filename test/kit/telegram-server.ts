/**
 * A Telegram Bot API server on loopback, speaking the subset hermes uses (getMe, deleteWebhook, setWebhook,
 * getUpdates as a long poll with offset/timeout semantics, sendMessage) with the real error envelope
 * `{ok:false,error_code,description,parameters}`, and switches for every fault an adapter must survive.
 * Proved faithful by grammy (telegram-server.test.ts). The HTTP plumbing (stalls, refuse, resume) is
 * http-fault-server.ts.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpFaultServer, replyJson as reply } from "./http-fault-server.ts";

export interface TelegramMessageInput {
  chatId: number;
  userId: number;
  text: string;
  chatType?: "private" | "group" | "supergroup";
  username?: string;
}

export interface SentMessage {
  chat_id: string;
  text: string;
  reply_parameters?: { message_id: number };
  message_id: number;
}

interface HeldPoll {
  res: ServerResponse;
  offset: number;
  limit: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** An unresolvable api_base (RFC 2606 reserves `.invalid`): DNS fails for it, quickly and offline. */
export const UNRESOLVABLE_API_BASE = "http://api.telegram.invalid";

export const BOT = { id: 7_000_001, is_bot: true, first_name: "Hermes Test", username: "hermes_test_bot" };

export class TelegramTestServer {
  readonly token: string;
  /** Every sendMessage the server accepted, in order. */
  readonly sent: SentMessage[] = [];
  /** Every method called with a valid token, in order. */
  readonly calls: string[] = [];
  /** The webhook set with setWebhook (getUpdates answers 409 while one is set). */
  webhook: { url: string; secret_token?: string } | null = null;

  // ----- switches -----
  /** Answer every request 401 Unauthorized (a revoked token). */
  rejectToken = false;
  /** Accept requests and never answer them; polls already waiting stop being answered too. */
  stall = false;
  /** getUpdates answers 409 "terminated by other getUpdates request" (another poller). */
  conflict = false;
  /** The next N requests answer 429 with `parameters.retry_after` = retryAfter seconds. */
  rateLimit = { count: 0, retryAfter: 1 };
  /** The next N getUpdates answer a body that is not JSON. */
  malformedPolls = 0;
  /** sendMessage answers 500 this many more times. */
  sendFailures = 0;

  #http: HttpFaultServer;
  /** Queued updates by their position id (a malformed body may have no usable update_id of its own). */
  #updates: { id: number; body: unknown }[] = [];
  #nextUpdateId = 1;
  #nextMessageId = 1;
  #held: HeldPoll[] = [];
  /** The offset of the last getUpdates: updates below it are confirmed. */
  confirmedOffset = 0;

  private constructor(token: string) {
    this.token = token;
    this.#http = new HttpFaultServer({
      handle: (req, body, res) => this.#handle(req, body, res),
      stalled: () => this.stall,
    });
  }

  static async start(token: string): Promise<TelegramTestServer> {
    const server = new TelegramTestServer(token);
    await server.#http.listen();
    return server;
  }

  /** `api_base` for this server. */
  get url(): string {
    return `http://127.0.0.1:${this.#http.port}`;
  }

  get port(): number {
    return this.#http.port;
  }

  /** getUpdates requests waiting for updates right now. */
  get pendingPolls(): number {
    return this.#held.length + this.#http.heldCount;
  }

  /** Updates queued and not yet confirmed by an offset. */
  get unconfirmed(): number {
    return this.#updates.filter((u) => u.id >= this.confirmedOffset).length;
  }

  count(method: string): number {
    return this.calls.filter((m) => m === method).length;
  }

  /** Queues a text message as an update; returns its update_id. */
  pushMessage(input: TelegramMessageInput): number {
    const type = input.chatType ?? "private";
    return this.pushUpdate({
      message: {
        message_id: this.#nextMessageId++,
        date: Math.floor(Date.now() / 1000),
        chat: {
          id: input.chatId,
          type,
          ...(type === "private" ? { first_name: "User" } : { title: "Group" }),
        },
        from: { id: input.userId, is_bot: false, first_name: "User", username: input.username ?? "user" },
        text: input.text,
      },
    });
  }

  /** Queues an update; `update_id` is assigned unless given. */
  pushUpdate(update: Record<string, unknown>): number {
    const id = typeof update.update_id === "number" ? update.update_id : this.#nextUpdateId;
    this.#nextUpdateId = Math.max(this.#nextUpdateId, id + 1);
    this.#updates.push({ id, body: { update_id: id, ...update } });
    this.#answerHeld();
    return id;
  }

  /** Queues a body exactly as given (no update_id added): malformed updates. */
  pushRaw(body: unknown): void {
    this.#updates.push({ id: this.#nextUpdateId++, body });
    this.#answerHeld();
  }

  /** Queues `n` messages at once (the throughput burst), spread over `chats` chats from `chatId` on. */
  burst(n: number, input: Omit<TelegramMessageInput, "text"> & { chats?: number }): void {
    const chats = input.chats ?? 1;
    for (let i = 0; i < n; i++) {
      const chatId = input.chatId + (i % chats);
      const id = this.#nextUpdateId++;
      this.#updates.push({
        id,
        body: {
          update_id: id,
          message: {
            message_id: this.#nextMessageId++,
            date: Math.floor(Date.now() / 1000),
            chat: { id: chatId, type: "private", first_name: "User" },
            from: { id: input.userId, is_bot: false, first_name: "User" },
            text: `burst ${i}`,
          },
        },
      });
    }
    this.#answerHeld();
  }

  /** POSTs an update to the webhook set with setWebhook, with its secret header (or `secret` instead). */
  async deliverWebhook(update: Record<string, unknown>, secret?: string): Promise<Response> {
    if (!this.webhook) throw new Error("no webhook is set");
    const token = secret ?? this.webhook.secret_token;
    return fetch(this.webhook.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(token === undefined ? {} : { "x-telegram-bot-api-secret-token": token }),
      },
      body: JSON.stringify({ update_id: this.#nextUpdateId++, ...update }),
      signal: AbortSignal.timeout(10_000),
    });
  }

  /** Closes the port and drops every connection: connections are refused until `resume()`. */
  async refuse(): Promise<void> {
    for (const poll of this.#held) if (poll.timer) clearTimeout(poll.timer);
    this.#held = [];
    await this.#http.refuse();
  }

  /** Listens again on the same port. */
  async resume(): Promise<void> {
    await this.#http.listen();
  }

  /** Drops every open connection (a network blip) without closing the port. */
  dropConnections(): void {
    this.#held = [];
    this.#http.dropConnections();
  }

  async close(): Promise<void> {
    this.stall = false;
    if (this.#http.listening) await this.refuse();
  }

  #handle(req: IncomingMessage, body: string, res: ServerResponse): unknown {
    const url = new URL(req.url ?? "/", "http://x");
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    if (!match) return reply(res, 404, { ok: false, error_code: 404, description: "Not Found" });
    const [, token, method] = match as unknown as [string, string, string];
    if (this.rejectToken || token !== this.token)
      return reply(res, 401, { ok: false, error_code: 401, description: "Unauthorized" });
    this.calls.push(method);
    if (this.rateLimit.count > 0) {
      this.rateLimit.count--;
      const after = this.rateLimit.retryAfter;
      return reply(res, 429, {
        ok: false,
        error_code: 429,
        description: `Too Many Requests: retry after ${after}`,
        parameters: { retry_after: after },
      });
    }
    const params = parseParams(url, req.headers["content-type"] ?? "", body);
    if (params === undefined)
      return reply(res, 400, { ok: false, error_code: 400, description: "Bad Request: can't parse JSON" });
    switch (method) {
      case "getMe":
        return reply(res, 200, { ok: true, result: BOT });
      case "deleteWebhook":
        this.webhook = null;
        return reply(res, 200, { ok: true, result: true, description: "Webhook was deleted" });
      case "setWebhook": {
        if (typeof params.url !== "string" || params.url === "")
          return reply(res, 400, { ok: false, error_code: 400, description: "Bad Request: bad webhook" });
        this.webhook = {
          url: params.url,
          ...(typeof params.secret_token === "string" ? { secret_token: params.secret_token } : {}),
        };
        return reply(res, 200, { ok: true, result: true, description: "Webhook was set" });
      }
      case "getUpdates":
        return this.#getUpdates(res, params);
      case "sendMessage":
        return this.#sendMessage(res, params);
      default:
        return reply(res, 404, { ok: false, error_code: 404, description: "Not Found: method not found" });
    }
  }

  #getUpdates(res: ServerResponse, params: Record<string, unknown>): unknown {
    if (this.webhook)
      return reply(res, 409, {
        ok: false,
        error_code: 409,
        description:
          "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      });
    if (this.conflict)
      return reply(res, 409, {
        ok: false,
        error_code: 409,
        description:
          "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
      });
    if (this.malformedPolls > 0) {
      this.malformedPolls--;
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"ok":true,"result":[{"update_id":');
      return;
    }
    const offset = Number(params.offset ?? 0);
    const limit = Math.min(100, Math.max(1, Number(params.limit ?? 100)));
    const timeout = Number(params.timeout ?? 0);
    // An offset confirms every update below it: they are forgotten, as Telegram does.
    if (offset > 0) {
      this.confirmedOffset = Math.max(this.confirmedOffset, offset);
      this.#updates = this.#updates.filter((u) => u.id >= offset);
    }
    // A new poll ends the one still waiting, as Telegram does.
    for (const old of this.#held.splice(0)) {
      if (old.timer) clearTimeout(old.timer);
      reply(old.res, 409, {
        ok: false,
        error_code: 409,
        description:
          "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
      });
    }
    const ready = this.#take(offset, limit);
    if (ready.length > 0 || !(timeout > 0)) return reply(res, 200, { ok: true, result: ready });
    const poll: HeldPoll = { res, offset, limit, timer: undefined };
    poll.timer = setTimeout(() => {
      this.#held = this.#held.filter((p) => p !== poll);
      if (this.stall) this.#http.hold(res);
      else reply(res, 200, { ok: true, result: [] });
    }, timeout * 1000);
    res.on("close", () => {
      if (poll.timer) clearTimeout(poll.timer);
      this.#held = this.#held.filter((p) => p !== poll);
    });
    this.#held.push(poll);
  }

  #take(offset: number, limit: number): unknown[] {
    return this.#updates
      .filter((u) => u.id >= offset)
      .slice(0, limit)
      .map((u) => u.body);
  }

  #answerHeld(): void {
    if (this.stall) return;
    for (const poll of [...this.#held]) {
      const ready = this.#take(poll.offset, poll.limit);
      if (ready.length === 0) continue;
      if (poll.timer) clearTimeout(poll.timer);
      this.#held = this.#held.filter((p) => p !== poll);
      reply(poll.res, 200, { ok: true, result: ready });
    }
  }

  #sendMessage(res: ServerResponse, params: Record<string, unknown>): unknown {
    if (this.sendFailures > 0) {
      this.sendFailures--;
      return reply(res, 500, { ok: false, error_code: 500, description: "Internal Server Error" });
    }
    const text = params.text;
    if (params.chat_id === undefined || params.chat_id === "")
      return reply(res, 400, { ok: false, error_code: 400, description: "Bad Request: chat_id is empty" });
    if (typeof text !== "string" || text.length === 0)
      return reply(res, 400, {
        ok: false,
        error_code: 400,
        description: "Bad Request: message text is empty",
      });
    if ([...text].length > 4096)
      return reply(res, 400, { ok: false, error_code: 400, description: "Bad Request: message is too long" });
    const message_id = this.#nextMessageId++;
    const reply_parameters = params.reply_parameters as { message_id: number } | undefined;
    this.sent.push({
      chat_id: String(params.chat_id),
      text,
      message_id,
      ...(reply_parameters ? { reply_parameters } : {}),
    });
    reply(res, 200, {
      ok: true,
      result: {
        message_id,
        date: Math.floor(Date.now() / 1000),
        chat: { id: Number(params.chat_id), type: "private" },
        from: BOT,
        text,
      },
    });
  }
}

/** The Bot API takes parameters as a query string, a JSON body or a form body. */
function parseParams(url: URL, type: string, body: string): Record<string, unknown> | undefined {
  const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
  if (body === "") return params;
  if (type.includes("application/json")) {
    try {
      return { ...params, ...(JSON.parse(body) as Record<string, unknown>) };
    } catch {
      return undefined;
    }
  }
  if (type.includes("application/x-www-form-urlencoded")) {
    for (const [k, v] of new URLSearchParams(body)) {
      try {
        params[k] = JSON.parse(v);
      } catch {
        params[k] = v;
      }
    }
  }
  return params;
}
