/**
 * A Slack server on loopback: the Web API methods hermes uses (auth.test, apps.connections.open,
 * chat.postMessage) with Slack's envelope `{ok, error}` (HTTP 200 even for errors, 429 with Retry-After), and
 * Socket Mode behind the single-use URL apps.connections.open hands out: `hello`, `events_api` envelopes that
 * stay pending until acked (and are sent again, with `retry_attempt`, on the next connection or after a delay),
 * `disconnect` frames, ping/pong. Switches for every fault an adapter must survive. Proved faithful by
 * @slack/socket-mode and @slack/web-api (slack-server.test.ts). http-fault-server.ts for the Web API (stalls,
 * refuse, resume) and `ws`'s WebSocketServer on the same port for Socket Mode.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";
import { HttpFaultServer, replyJson } from "./http-fault-server.ts";

export const TEAM = { id: "T0HERMES1", name: "Hermes Test", url: "https://hermes-test.slack.com/" };
export const BOT_USER = { id: "U0HERMESBOT", name: "hermes", bot_id: "B0HERMESBOT" };
export const APP_ID = "A0HERMESAPP";

/** An unresolvable api_base (RFC 2606 reserves `.invalid`): DNS fails for it, quickly and offline. */
export const UNRESOLVABLE_API_BASE = "http://slack.invalid/api";

export interface SlackMessageInput {
  channel: string;
  user: string;
  text: string;
  /** `im` unless given (a channel id starting with D); `channel`, `group`, `mpim` are group chats. */
  channelType?: "im" | "channel" | "group" | "mpim";
  eventType?: "message" | "app_mention";
  threadTs?: string;
  subtype?: string;
  botId?: string;
  /** Reuse a message's ts (an app_mention for a message already sent as `message`). */
  ts?: string;
}

export interface PostedMessage {
  channel: string;
  text: string;
  thread_ts?: string;
  ts: string;
}

interface Envelope {
  id: string;
  body: Record<string, unknown>;
  /** Times sent; above 1 the frame carries retry_attempt. */
  sent: number;
}

interface Link {
  socket: WebSocket;
  ticket: string;
  pingTimer: ReturnType<typeof setInterval> | undefined;
  /** This link has gone bad: acks sent on it are lost, its pings unanswered. */
  losesAcks?: boolean;
  noPongs?: boolean;
}

export class SlackTestServer {
  readonly botToken: string;
  readonly appToken: string;
  /** Web API methods called with a valid token, in order. */
  readonly calls: string[] = [];
  /** Every chat.postMessage accepted, in order. */
  readonly posted: PostedMessage[] = [];
  /** Every envelope frame sent, as sent. */
  readonly sentFrames: Record<string, unknown>[] = [];
  /** Envelope ids acked by the client, in order (an id acked twice appears twice). */
  readonly acks: string[] = [];
  /** Tickets handed out by apps.connections.open, and those a WebSocket connected with. */
  readonly ticketsIssued: string[] = [];
  readonly ticketsUsed: string[] = [];
  /** Pings received from clients. */
  pingsReceived = 0;

  // ----- switches -----
  /** Every Web API call answers `invalid_auth`, and open links are closed (a revoked token). */
  rejectToken = false;
  /** HTTP requests are held unanswered; WebSockets get nothing (no frames, pings or pongs). */
  stall = false;
  /** Client pings go unanswered while frames still flow (a zombie: TCP open, nobody home). */
  answerPings = true;
  /** The server pings every client this often (Slack does, every few seconds); null: never. */
  serverPingMs: number | null = null;
  /** The next N Web API calls answer 429 with Retry-After (seconds). */
  rateLimit = { count: 0, retryAfter: 1 };
  /** The next N Web API calls answer a body that is not JSON. */
  malformedCalls = 0;
  /** Unacked envelopes are sent again after this long (Slack retries after about 3 s); null: only on reconnect. */
  redeliverAfterMs: number | null = null;
  /** chat.postMessage answers HTTP 500 this many more times. */
  postFailures = 0;
  /** The `hello` frame is not sent on the next N connections. */
  skipHello = 0;

  #http: HttpFaultServer;
  #wss: WebSocketServer;
  #links = new Set<Link>();
  #envelopes = new Map<string, Envelope>();
  #deliveries = new Map<string, number>();
  #redeliverTimer: ReturnType<typeof setInterval> | undefined;
  #ts = 1_700_000_000;
  #seq = 0;

  private constructor(tokens: { botToken: string; appToken: string }) {
    this.botToken = tokens.botToken;
    this.appToken = tokens.appToken;
    this.#http = new HttpFaultServer({
      handle: (req, body, res) => this.#handle(req, body, res),
      stalled: () => this.stall,
    });
    // autoPong off: whether a ping is answered is a switch.
    this.#wss = new WebSocketServer({ noServer: true, autoPong: false, perMessageDeflate: false });
    this.#http.server.on("upgrade", (req, socket, head) => this.#upgrade(req, socket as Socket, head));
  }

  static async start(tokens: { botToken: string; appToken: string }): Promise<SlackTestServer> {
    const server = new SlackTestServer(tokens);
    await server.#http.listen();
    return server;
  }

  /** `api_base` for this server. */
  get url(): string {
    return `http://127.0.0.1:${this.#http.port}/api`;
  }

  get port(): number {
    return this.#http.port;
  }

  /** Socket Mode connections open now. */
  get openLinks(): number {
    return this.#links.size;
  }

  /** Envelopes sent or queued and not acked yet. */
  get unacked(): number {
    return this.#envelopes.size;
  }

  /** How many times an envelope was sent (above 1: redelivered with retry_attempt). */
  deliveries(envelopeId: string): number {
    return this.#deliveries.get(envelopeId) ?? 0;
  }

  count(method: string): number {
    return this.calls.filter((m) => m === method).length;
  }

  /** A user says something: an events_api envelope carrying a message event. Returns the envelope id. */
  pushMessage(input: SlackMessageInput): { envelopeId: string; eventId: string; ts: string } {
    const ts = input.ts ?? this.#nextTs();
    const eventType = input.eventType ?? "message";
    const event: Record<string, unknown> = {
      type: eventType,
      channel: input.channel,
      user: input.user,
      text: input.text,
      ts,
      event_ts: ts,
      team: TEAM.id,
      ...(eventType === "message" ? { channel_type: input.channelType ?? "im" } : {}),
      ...(input.threadTs ? { thread_ts: input.threadTs } : {}),
      ...(input.subtype ? { subtype: input.subtype } : {}),
      ...(input.botId ? { bot_id: input.botId } : {}),
    };
    const eventId = `Ev${String(++this.#seq).padStart(9, "0")}`;
    const envelopeId = this.pushEnvelope({
      type: "events_api",
      accepts_response_payload: false,
      payload: {
        token: "verification-token-unused",
        team_id: TEAM.id,
        api_app_id: APP_ID,
        event,
        type: "event_callback",
        event_id: eventId,
        event_time: Math.floor(Date.now() / 1000),
      },
    });
    return { envelopeId, eventId, ts };
  }

  /** Queues an envelope (`envelope_id` assigned unless given) for delivery; returns its id. */
  pushEnvelope(body: Record<string, unknown>): string {
    const id = typeof body.envelope_id === "string" ? body.envelope_id : randomUUID();
    this.#envelopes.set(id, { id, body: { ...body, envelope_id: id }, sent: 0 });
    this.#deliver();
    return id;
  }

  /** Sends a frame exactly as given to every open link (malformed input); not tracked for acks. */
  pushRaw(frame: string | Buffer): void {
    for (const link of this.#links) link.socket.send(frame);
  }

  /** `n` message envelopes at once (the throughput burst), spread over `channels` DM channels. */
  burst(n: number, input: { user: string; channels?: number; channelPrefix?: string }): void {
    const channels = input.channels ?? 1;
    const prefix = input.channelPrefix ?? "D0BURST";
    const delivering = this.stall;
    // Queue them all first, then send in one go: as fast as the socket takes them.
    this.stall = true;
    for (let i = 0; i < n; i++)
      this.pushMessage({ channel: `${prefix}${i % channels}`, user: input.user, text: `burst ${i}` });
    this.stall = delivering;
    this.#deliver();
  }

  /** Sends `{type:"disconnect", reason}` to every open link (Slack then closes it about 10 s later). */
  disconnect(reason: "warning" | "refresh_requested" | "link_disabled" | string): void {
    for (const link of this.#links)
      link.socket.send(
        JSON.stringify({
          type: "disconnect",
          reason,
          debug_info: { host: "applink-hermes-test" },
        }),
      );
  }

  /**
   * The links open now go bad while their TCP stays open (a zombie): acks sent on them are lost and, with
   * `pongs`, their pings go unanswered. Links opened later are healthy.
   */
  breakLinks(what: { acks?: boolean; pongs?: boolean }): void {
    for (const link of this.#links) {
      if (what.acks) link.losesAcks = true;
      if (what.pongs) link.noPongs = true;
    }
  }

  /** Closes every open link with a WebSocket close code. */
  closeLinks(code: number, reason = ""): void {
    for (const link of this.#links) link.socket.close(code, reason);
  }

  /** Drops every open connection, HTTP and WebSocket (a network blip), without closing the port. */
  dropConnections(): void {
    for (const link of this.#links) link.socket.terminate();
    this.#http.dropConnections();
  }

  /** Closes the port and drops every connection: connections are refused until `resume()`. */
  async refuse(): Promise<void> {
    for (const link of this.#links) link.socket.terminate();
    await this.#http.refuse();
  }

  /** Listens again on the same port. */
  async resume(): Promise<void> {
    await this.#http.listen();
  }

  async close(): Promise<void> {
    this.stall = false;
    clearInterval(this.#redeliverTimer);
    for (const link of this.#links) clearInterval(link.pingTimer);
    if (this.#http.listening) await this.refuse();
    this.#wss.close();
  }

  #nextTs(): string {
    this.#ts += 1;
    return `${this.#ts}.${String(++this.#seq).padStart(6, "0")}`;
  }

  /** Sends each pending envelope not sent yet to the newest link (Slack picks one of the app's links). */
  #deliver(): void {
    if (this.stall) return;
    const link = [...this.#links].at(-1);
    if (!link) return;
    for (const envelope of this.#envelopes.values()) {
      if (envelope.sent > 0) continue;
      this.#send(link, envelope);
    }
  }

  #send(link: Link, envelope: Envelope): void {
    envelope.sent++;
    this.#deliveries.set(envelope.id, envelope.sent);
    const retry = envelope.sent > 1 ? { retry_attempt: envelope.sent - 1, retry_reason: "timeout" } : {};
    const frame = { ...envelope.body, ...retry };
    this.sentFrames.push(frame);
    link.socket.send(JSON.stringify(frame));
  }

  #redeliverAll(link: Link): void {
    for (const envelope of this.#envelopes.values()) this.#send(link, envelope);
  }

  #upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(req.url ?? "/", "http://x");
    const ticket = url.searchParams.get("ticket") ?? "";
    // A link URL is good for one connection: a reused or unknown ticket is refused.
    if (
      url.pathname !== "/link/" ||
      !this.ticketsIssued.includes(ticket) ||
      this.ticketsUsed.includes(ticket) ||
      this.rejectToken
    ) {
      socket.end("HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    this.ticketsUsed.push(ticket);
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#open(ws, ticket));
  }

  #open(socket: WebSocket, ticket: string): void {
    const link: Link = { socket, ticket, pingTimer: undefined };
    this.#links.add(link);
    socket.on("ping", (data) => {
      this.pingsReceived++;
      if (this.answerPings && !link.noPongs && !this.stall) socket.pong(data);
    });
    socket.on("message", (data, isBinary) => {
      if (isBinary) return;
      let frame: { envelope_id?: unknown };
      try {
        frame = JSON.parse(String(data));
      } catch {
        return;
      }
      if (typeof frame?.envelope_id !== "string" || link.losesAcks) return;
      this.acks.push(frame.envelope_id);
      this.#envelopes.delete(frame.envelope_id);
    });
    socket.on("close", () => {
      clearInterval(link.pingTimer);
      this.#links.delete(link);
    });
    socket.on("error", () => {});
    if (this.serverPingMs !== null) {
      link.pingTimer = setInterval(() => {
        if (!this.stall && socket.readyState === socket.OPEN) socket.ping();
      }, this.serverPingMs);
    }
    if (this.skipHello > 0) {
      this.skipHello--;
      return;
    }
    socket.send(
      JSON.stringify({
        type: "hello",
        num_connections: this.#links.size,
        debug_info: { host: "applink-hermes-test", build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: APP_ID },
      }),
    );
    // Envelopes a previous connection never acked come again (with retry_attempt), then the new ones.
    this.#redeliverAll(link);
    this.#armRedelivery();
  }

  #armRedelivery(): void {
    if (this.redeliverAfterMs === null || this.#redeliverTimer) return;
    this.#redeliverTimer = setInterval(() => {
      if (this.stall) return;
      const link = [...this.#links].at(-1);
      if (link) for (const e of this.#envelopes.values()) if (e.sent > 0) this.#send(link, e);
    }, this.redeliverAfterMs);
  }

  #handle(req: IncomingMessage, body: string, res: ServerResponse): unknown {
    const url = new URL(req.url ?? "/", "http://x");
    const match = /^\/api\/([A-Za-z.]+)$/.exec(url.pathname);
    if (!match) return reply(res, 404, { ok: false, error: "unknown_method" });
    const method = match[1] as string;
    const params = parseParams(url, req.headers["content-type"] ?? "", body);
    if (params === undefined) return reply(res, 200, { ok: false, error: "invalid_json" });
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const token = auth ?? (typeof params.token === "string" ? params.token : undefined);
    if (token === undefined || token === "") return reply(res, 200, { ok: false, error: "not_authed" });
    if (this.rejectToken || (token !== this.botToken && token !== this.appToken))
      return reply(res, 200, { ok: false, error: "invalid_auth" });
    const app = token === this.appToken;
    this.calls.push(method);
    if (this.rateLimit.count > 0) {
      this.rateLimit.count--;
      res.writeHead(429, {
        "content-type": "application/json",
        "retry-after": String(this.rateLimit.retryAfter),
      });
      res.end(JSON.stringify({ ok: false, error: "ratelimited" }));
      return;
    }
    if (this.malformedCalls > 0) {
      this.malformedCalls--;
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"ok":true,"url":');
      return;
    }
    switch (method) {
      case "auth.test":
        return reply(res, 200, {
          ok: true,
          url: TEAM.url,
          team: TEAM.name,
          team_id: TEAM.id,
          ...(app
            ? { app_id: APP_ID }
            : {
                user: BOT_USER.name,
                user_id: BOT_USER.id,
                bot_id: BOT_USER.bot_id,
                is_enterprise_install: false,
              }),
        });
      case "apps.connections.open": {
        // Only an app-level token may open a Socket Mode connection.
        if (!app) return reply(res, 200, { ok: false, error: "not_allowed_token_type" });
        const ticket = randomUUID();
        this.ticketsIssued.push(ticket);
        return reply(res, 200, {
          ok: true,
          url: `ws://127.0.0.1:${this.#http.port}/link/?ticket=${ticket}&app_id=x`,
        });
      }
      case "chat.postMessage":
        if (app) return reply(res, 200, { ok: false, error: "not_allowed_token_type" });
        return this.#postMessage(res, params);
      default:
        return reply(res, 200, { ok: false, error: "unknown_method" });
    }
  }

  #postMessage(res: ServerResponse, params: Record<string, unknown>): unknown {
    if (this.postFailures > 0) {
      this.postFailures--;
      res.writeHead(500, { "content-type": "text/html" });
      res.end("<html>internal error</html>");
      return;
    }
    const channel = params.channel;
    const text = params.text;
    if (typeof channel !== "string" || channel === "")
      return reply(res, 200, { ok: false, error: "channel_not_found" });
    if (typeof text !== "string" || text === "") return reply(res, 200, { ok: false, error: "no_text" });
    if (text.length > 40_000) return reply(res, 200, { ok: false, error: "msg_too_long" });
    const ts = this.#nextTs();
    const thread_ts = typeof params.thread_ts === "string" ? params.thread_ts : undefined;
    this.posted.push({ channel, text, ts, ...(thread_ts ? { thread_ts } : {}) });
    reply(res, 200, {
      ok: true,
      channel,
      ts,
      message: {
        type: "message",
        text,
        user: BOT_USER.id,
        bot_id: BOT_USER.bot_id,
        ts,
        ...(thread_ts ? { thread_ts } : {}),
      },
    });
  }
}

/** Slack answers JSON with a charset. */
function reply(res: ServerResponse, status: number, body: unknown): void {
  replyJson(res, status, body, { "content-type": "application/json; charset=utf-8" });
}

/** The Web API takes arguments as a form body (what the SDK sends), a JSON body or a query string. */
function parseParams(url: URL, type: string, body: string): Record<string, unknown> | undefined {
  const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
  if (body === "") return params;
  if (type.includes("application/json")) {
    try {
      const parsed = JSON.parse(body) as unknown;
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return undefined;
      return { ...params, ...(parsed as Record<string, unknown>) };
    } catch {
      return undefined;
    }
  }
  for (const [k, v] of new URLSearchParams(body)) params[k] = v;
  return params;
}
