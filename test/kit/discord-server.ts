/**
 * A Discord server on loopback: REST v10 (`/gateway/bot`, `/users/@me`, `POST /channels/{id}/messages`, the real
 * error bodies and rate-limit headers) and Gateway v10 (Hello, Identify, READY with `resume_gateway_url`,
 * heartbeats and ACKs, MESSAGE_CREATE with increasing `s`, Resume with replay then RESUMED, op 7, op 9, every
 * close code), with switches for every fault an adapter must survive. Proved faithful by @discordjs/ws and
 * @discordjs/rest (discord-server.test.ts). http-fault-server.ts for REST (stalls, refuse, resume) and `ws`'s
 * WebSocketServer on the same port for the gateway.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type WebSocket, WebSocketServer } from "ws";
import { HttpFaultServer, replyJson as reply } from "./http-fault-server.ts";

/** The bot user behind the test token. */
export const BOT_USER = {
  id: "123456789012345678",
  username: "hermes-test",
  discriminator: "0",
  global_name: null,
  avatar: null,
  bot: true,
};
export const APPLICATION_ID = "123456789012345678";

/** Privileged intents: the bot must be allowed them in the Developer Portal, else close 4014. */
export const PRIVILEGED = { GUILD_MEMBERS: 1 << 1, GUILD_PRESENCES: 1 << 8, MESSAGE_CONTENT: 1 << 15 };
/** Every intent bit Discord defines (0–25); any other bit is close 4013. */
const KNOWN_INTENTS = (1 << 26) - 1;

/** An unresolvable api_base (RFC 2606 reserves `.invalid`): DNS fails for it, quickly and offline. */
export const UNRESOLVABLE_API_BASE = "http://discord.invalid/api";

/** Close codes the docs list, with whether the session survives them (the Resume column). */
export const CLOSE_CODES: Record<number, { reason: string; resumable: boolean }> = {
  4000: { reason: "Unknown error", resumable: true },
  4001: { reason: "Unknown opcode", resumable: false },
  4002: { reason: "Decode error", resumable: true },
  4003: { reason: "Not authenticated", resumable: false },
  4004: { reason: "Authentication failed", resumable: false },
  4005: { reason: "Already authenticated", resumable: false },
  4007: { reason: "Invalid seq", resumable: false },
  4008: { reason: "Rate limited", resumable: true },
  4009: { reason: "Session timed out", resumable: false },
  4010: { reason: "Invalid shard", resumable: false },
  4011: { reason: "Sharding required", resumable: false },
  4012: { reason: "Invalid API version", resumable: false },
  4013: { reason: "Invalid intent(s)", resumable: false },
  4014: { reason: "Disallowed intent(s)", resumable: false },
};

export interface SentMessage {
  id: string;
  channel_id: string;
  content: string;
  message_reference?: { message_id: string };
  allowed_mentions?: unknown;
}

export interface UserMessage {
  channelId?: string;
  userId?: string;
  text: string;
  /** Absent: a direct message. */
  guildId?: string;
  /** User ids mentioned. */
  mentions?: string[];
  bot?: boolean;
}

interface Dispatch {
  s: number;
  t: string;
  d: unknown;
}

interface Session {
  id: string;
  seq: number;
  log: Dispatch[];
  connection: Connection | undefined;
  valid: boolean;
}

interface Connection {
  path: string;
  query: Record<string, string>;
  socket: WebSocket;
  session: Session | undefined;
  /** This connection is a zombie (see `zombify`). */
  zombie: boolean;
}

export class DiscordTestServer {
  readonly token: string;
  /** Hello's `heartbeat_interval`, ms. */
  heartbeatIntervalMs: number;
  /** Every message the server accepted, in order. */
  readonly sent: SentMessage[] = [];
  /** REST calls (`GET /gateway/bot`) and gateway events (`identify`, `resume`, `heartbeat`), in order. */
  readonly calls: string[] = [];
  /** Every gateway connection: the path and query it opened with. */
  readonly connections: { path: string; query: Record<string, string> }[] = [];
  /** Identify payloads received (token replaced by whether it was right). */
  readonly identifies: { intents: number; tokenOk: boolean; properties: unknown }[] = [];
  /** Resume payloads received. */
  readonly resumes: { session_id: string; seq: number; tokenOk: boolean }[] = [];
  /** Close codes the clients sent when they closed. */
  readonly clientCloses: number[] = [];

  // ----- switches -----
  /** Refuse the token: REST 401, gateway close 4004. */
  rejectToken = false;
  /** Privileged intents this bot may use (bits of PRIVILEGED); asking for others is close 4014. */
  allowedPrivileged = PRIVILEGED.GUILD_MEMBERS | PRIVILEGED.GUILD_PRESENCES | PRIVILEGED.MESSAGE_CONTENT;
  /** HTTP requests are held unanswered; gateway sockets stay open and nothing more is sent on them. */
  stall = false;
  /** Heartbeats are no longer ACKed and dispatches are held for replay, on every connection; TCP stays open. */
  zombie = false;
  /** The next N REST requests answer 429 with `retry_after` seconds (`global` sets the global flag). */
  rateLimit = { count: 0, retryAfter: 0.05, global: false };
  /** The next N REST requests answer 200 with a body that is not JSON. */
  malformedRest = 0;
  /** POST /channels/{id}/messages answers 500 this many more times. */
  sendFailures = 0;
  /** How long after op 7 / op 9 the server closes the socket itself if the client has not. */
  closeAfterMs = 500;

  #http: HttpFaultServer;
  #wss: WebSocketServer;
  #connections = new Set<Connection>();
  #sessions = new Map<string, Session>();
  /** The session new dispatches go to (the latest one that was READY). */
  #current: Session | undefined;
  #nextSnowflake = 1_300_000_000_000_000_000n;
  #nextSession = 1;

  private constructor(token: string, heartbeatIntervalMs: number) {
    this.token = token;
    this.heartbeatIntervalMs = heartbeatIntervalMs;
    this.#http = new HttpFaultServer({
      handle: (req, body, res) => this.#handle(req, body, res),
      stalled: () => this.stall,
    });
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
    this.#http.server.on("upgrade", (req, socket, head) => {
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#open(ws, req));
    });
  }

  static async start(
    token: string,
    options: { heartbeatIntervalMs?: number } = {},
  ): Promise<DiscordTestServer> {
    const server = new DiscordTestServer(token, options.heartbeatIntervalMs ?? 41_250);
    await server.#http.listen();
    return server;
  }

  /** `api_base` for this server (REST under `${url}/v10`). */
  get url(): string {
    return `http://127.0.0.1:${this.#http.port}/api`;
  }

  get port(): number {
    return this.#http.port;
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.#http.port}/gateway`;
  }

  get resumeUrl(): string {
    return `ws://127.0.0.1:${this.#http.port}/resume`;
  }

  /** Gateway connections open right now. */
  get openConnections(): number {
    return this.#connections.size;
  }

  count(call: string): number {
    return this.calls.filter((c) => c === call).length;
  }

  /** A user sends a message: MESSAGE_CREATE to the current session (held for replay while it is not reachable). */
  userSays(input: UserMessage): string {
    const id = this.#snowflake();
    const channelId = input.channelId ?? "900000000000000001";
    const userId = input.userId ?? "800000000000000001";
    this.dispatch("MESSAGE_CREATE", {
      id,
      channel_id: channelId,
      ...(input.guildId ? { guild_id: input.guildId } : {}),
      author: {
        id: userId,
        username: `user${userId.slice(-4)}`,
        discriminator: "0",
        global_name: "User",
        avatar: null,
        ...(input.bot ? { bot: true } : {}),
      },
      content: input.text,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: (input.mentions ?? []).map((m) => ({ id: m, username: "mentioned", discriminator: "0" })),
      mention_roles: [],
      attachments: [],
      embeds: [],
      pinned: false,
      type: 0,
      flags: 0,
    });
    return id;
  }

  /** `n` messages at once (the throughput burst), spread over `chats` channels. */
  burst(n: number, options: { chats?: number; userId?: string } = {}): void {
    const chats = options.chats ?? 1;
    for (let i = 0; i < n; i++)
      this.userSays({
        channelId: String(900_000_000_000_000_001n + BigInt(i % chats)),
        userId: options.userId,
        text: `burst ${i}`,
      });
  }

  /**
   * The connections open now become zombies: their heartbeats are no longer ACKed and dispatches are held for
   * replay, while TCP stays open. New connections are healthy (the path that died was that connection's).
   */
  zombify(): void {
    for (const c of this.#connections) c.zombie = true;
  }

  /** Sends a dispatch with the next sequence number to the current session. */
  dispatch(t: string, d: unknown): void {
    const session = this.#current;
    if (!session) return;
    const event = { s: ++session.seq, t, d };
    session.log.push(event);
    const c = session.connection;
    if (c && !c.zombie && !this.zombie && !this.stall) send(c.socket, { op: 0, ...event });
  }

  /** Writes a raw frame to every open gateway connection (malformed input). */
  raw(frame: string | Buffer): void {
    for (const c of this.#connections) if (c.socket.readyState === c.socket.OPEN) c.socket.send(frame);
  }

  /** Every kind of malformed gateway frame, each on every open connection. */
  feedMalformed(): void {
    this.raw("this is not JSON");
    this.raw("null");
    this.raw("[1,2,3]");
    this.raw('{"op":"zero"}');
    this.raw('{"op":0}');
    this.raw(Buffer.from([0xff, 0x00, 0x13]));
    this.raw(JSON.stringify({ op: 42, d: null }));
    this.raw(JSON.stringify({ op: 10, d: { heartbeat_interval: "soon" } }));
    this.dispatch("MESSAGE_CREATE", null);
    this.dispatch("MESSAGE_CREATE", { id: 5, content: 7 });
    this.dispatch("MESSAGE_CREATE", {
      id: this.#snowflake(),
      channel_id: "1",
      author: "nobody",
      content: "x",
    });
    this.dispatch("MESSAGE_CREATE", { id: this.#snowflake(), channel_id: "1", author: { id: "2" } });
    this.dispatch("SOMETHING_NEW", { whatever: true });
    this.dispatch("READY", { session_id: 12 });
  }

  /** Closes every gateway connection with `code`; codes the docs mark not resumable end the session. */
  closeAll(code: number, reason = CLOSE_CODES[code]?.reason ?? "closing"): void {
    for (const c of this.#connections) {
      if (c.session && !(CLOSE_CODES[code]?.resumable ?? true)) this.#invalidate(c.session);
      c.socket.close(code, reason);
    }
  }

  /** op 7 Reconnect on every connection; the server closes them itself a little later. */
  requestReconnect(): void {
    for (const c of this.#connections) {
      send(c.socket, { op: 7, d: null });
      this.#closeLater(c.socket, 4000);
    }
  }

  /** op 9 Invalid Session on every connection (`resumable` is its `d`); the server closes a little later. */
  invalidateSession(resumable: boolean): void {
    for (const c of this.#connections) {
      if (!resumable && c.session) this.#invalidate(c.session);
      send(c.socket, { op: 9, d: resumable });
      this.#closeLater(c.socket, 4000);
    }
  }

  /** Closes the port and drops every connection: connections are refused until `resume()`. */
  async refuse(): Promise<void> {
    for (const c of this.#connections) c.socket.terminate();
    await this.#http.refuse();
  }

  /** Listens again on the same port. */
  async resume(): Promise<void> {
    await this.#http.listen();
  }

  /** Cuts every connection, REST and gateway, without a close frame (a network blip); the port stays open. */
  dropConnections(): void {
    for (const c of this.#connections) c.socket.terminate();
    this.#http.dropConnections();
  }

  async close(): Promise<void> {
    this.stall = false;
    for (const c of this.#connections) c.socket.terminate();
    this.#wss.close();
    if (this.#http.listening) await this.refuse();
  }

  #snowflake(): string {
    return String(this.#nextSnowflake++);
  }

  #invalidate(session: Session): void {
    session.valid = false;
    this.#sessions.delete(session.id);
    if (this.#current === session) this.#current = undefined;
  }

  #closeLater(socket: WebSocket, code: number): void {
    const timer = setTimeout(() => {
      if (socket.readyState === socket.OPEN) socket.close(code, "reconnect");
    }, this.closeAfterMs);
    socket.once("close", () => clearTimeout(timer));
  }

  // ----- gateway -----

  #open(socket: WebSocket, req: IncomingMessage): void {
    const url = new URL(req.url ?? "/", "http://x");
    const query = Object.fromEntries(url.searchParams);
    const connection: Connection = { path: url.pathname, query, socket, session: undefined, zombie: false };
    this.connections.push({ path: url.pathname, query });
    this.#connections.add(connection);
    socket.on("close", (code) => {
      this.#connections.delete(connection);
      if (connection.session?.connection === connection) connection.session.connection = undefined;
      this.clientCloses.push(code);
    });
    socket.on("error", () => {});
    if (query.v !== "10") return void socket.close(4012, "Invalid API version");
    if (query.encoding !== "json") return void socket.close(4002, "Decode error");
    if (!this.stall) send(socket, { op: 10, d: { heartbeat_interval: this.heartbeatIntervalMs } });
    socket.on("message", (data, isBinary) => this.#frame(connection, data as Buffer, isBinary));
  }

  #frame(c: Connection, data: Buffer, isBinary: boolean): void {
    if (this.stall) return;
    if (isBinary || data.length > 4096) return void c.socket.close(4002, "Decode error");
    let payload: { op?: unknown; d?: unknown };
    try {
      payload = JSON.parse(data.toString("utf8"));
    } catch {
      return void c.socket.close(4002, "Decode error");
    }
    if (!payload || typeof payload !== "object") return void c.socket.close(4002, "Decode error");
    const d = payload.d as Record<string, unknown> | null;
    switch (payload.op) {
      case 1:
        this.calls.push("heartbeat");
        if (!this.zombie && !c.zombie) send(c.socket, { op: 11 });
        return;
      case 2:
        this.#identify(c, d ?? {});
        return;
      case 6:
        this.#resume(c, d ?? {});
        return;
      case 3:
      case 4:
      case 8:
        if (!c.session) return void c.socket.close(4003, "Not authenticated");
        return;
      default:
        return void c.socket.close(4001, "Unknown opcode");
    }
  }

  #identify(c: Connection, d: Record<string, unknown>): void {
    const tokenOk = d.token === this.token && !this.rejectToken;
    const intents = typeof d.intents === "number" ? d.intents : Number.NaN;
    this.identifies.push({ intents, tokenOk, properties: d.properties });
    this.calls.push("identify");
    if (c.session) return void c.socket.close(4005, "Already authenticated");
    if (!tokenOk) return void c.socket.close(4004, "Authentication failed");
    if (!Number.isInteger(intents) || (intents & ~KNOWN_INTENTS) !== 0)
      return void c.socket.close(4013, "Invalid intent(s)");
    const privileged = PRIVILEGED.GUILD_MEMBERS | PRIVILEGED.GUILD_PRESENCES | PRIVILEGED.MESSAGE_CONTENT;
    if ((intents & privileged & ~this.allowedPrivileged) !== 0)
      return void c.socket.close(4014, "Disallowed intent(s)");
    const session: Session = {
      id: `session-${this.#nextSession++}-${Math.random().toString(36).slice(2, 10)}`,
      seq: 0,
      log: [],
      connection: c,
      valid: true,
    };
    this.#sessions.set(session.id, session);
    this.#current = session;
    c.session = session;
    this.dispatch("READY", {
      v: 10,
      user: BOT_USER,
      guilds: [],
      session_id: session.id,
      resume_gateway_url: this.resumeUrl,
      shard: [0, 1],
      application: { id: APPLICATION_ID, flags: 0 },
    });
  }

  #resume(c: Connection, d: Record<string, unknown>): void {
    const tokenOk = d.token === this.token && !this.rejectToken;
    const seq = typeof d.seq === "number" ? d.seq : -1;
    this.resumes.push({ session_id: String(d.session_id), seq, tokenOk });
    this.calls.push("resume");
    if (!tokenOk) return void c.socket.close(4004, "Authentication failed");
    const session = this.#sessions.get(String(d.session_id));
    if (!session?.valid) {
      send(c.socket, { op: 9, d: false });
      this.#closeLater(c.socket, 4000);
      return;
    }
    if (seq < 0 || seq > session.seq) return void c.socket.close(4007, "Invalid seq");
    if (session.connection && session.connection !== c) session.connection.socket.terminate();
    session.connection = c;
    c.session = session;
    this.#current = session;
    for (const event of session.log) if (event.s > seq) send(c.socket, { op: 0, ...event });
    this.dispatch("RESUMED", null);
  }

  // ----- REST -----

  #handle(req: IncomingMessage, body: string, res: ServerResponse): unknown {
    const url = new URL(req.url ?? "/", "http://x");
    const route = url.pathname.replace(/^\/api\/v10/, "");
    if (route === url.pathname) return reply(res, 404, { message: "404: Not Found", code: 0 });
    const authorization = req.headers.authorization ?? "";
    if (this.rejectToken || authorization !== `Bot ${this.token}`)
      return reply(res, 401, { message: "401: Unauthorized", code: 0 });
    this.calls.push(`${req.method} ${route.replace(/^\/channels\/\d+\//, "/channels/{id}/")}`);
    if (this.rateLimit.count > 0) {
      this.rateLimit.count--;
      const { retryAfter, global } = this.rateLimit;
      return reply(
        res,
        429,
        { message: "You are being rate limited.", retry_after: retryAfter, global },
        {
          "retry-after": String(Math.ceil(retryAfter)),
          "x-ratelimit-scope": global ? "global" : "user",
          ...(global ? { "x-ratelimit-global": "true" } : {}),
          "x-ratelimit-limit": "5",
          "x-ratelimit-remaining": "0",
          "x-ratelimit-reset-after": String(retryAfter),
          "x-ratelimit-reset": String(Date.now() / 1000 + retryAfter),
          "x-ratelimit-bucket": "test-bucket",
        },
      );
    }
    if (this.malformedRest > 0) {
      this.malformedRest--;
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"url":"ws://');
      return;
    }
    if (req.method === "GET" && route === "/gateway/bot")
      return reply(res, 200, {
        url: this.gatewayUrl,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
      });
    if (req.method === "GET" && route === "/gateway") return reply(res, 200, { url: this.gatewayUrl });
    if (req.method === "GET" && route === "/users/@me") return reply(res, 200, BOT_USER);
    const channel = /^\/channels\/(\d+)\/messages$/.exec(route);
    if (req.method === "POST" && channel) return this.#createMessage(res, channel[1] as string, body);
    return reply(res, 404, { message: "404: Not Found", code: 0 });
  }

  #createMessage(res: ServerResponse, channelId: string, body: string): unknown {
    if (this.sendFailures > 0) {
      this.sendFailures--;
      return reply(res, 500, { message: "500: Internal Server Error", code: 0 });
    }
    let params: Record<string, unknown>;
    try {
      params = JSON.parse(body);
    } catch {
      return reply(res, 400, { message: "The request body contains invalid JSON.", code: 50109 });
    }
    const content = params?.content;
    if (typeof content !== "string" || content.length === 0)
      return reply(res, 400, { message: "Cannot send an empty message", code: 50006 });
    if (content.length > 2000)
      return reply(res, 400, {
        message: "Invalid Form Body",
        code: 50035,
        errors: {
          content: {
            _errors: [{ code: "BASE_TYPE_MAX_LENGTH", message: "Must be 2000 or fewer in length." }],
          },
        },
      });
    const id = this.#snowflake();
    const reference = params.message_reference as { message_id?: unknown } | undefined;
    this.sent.push({
      id,
      channel_id: channelId,
      content,
      ...(reference && typeof reference.message_id === "string"
        ? { message_reference: { message_id: reference.message_id } }
        : {}),
      ...(params.allowed_mentions !== undefined ? { allowed_mentions: params.allowed_mentions } : {}),
    });
    return reply(res, 200, {
      id,
      channel_id: channelId,
      author: BOT_USER,
      content,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: [],
      pinned: false,
      type: reference ? 19 : 0,
    });
  }
}

function send(socket: WebSocket, payload: Record<string, unknown>): void {
  if (socket.readyState !== socket.OPEN) return;
  socket.send(
    JSON.stringify({ op: payload.op, d: payload.d ?? null, s: payload.s ?? null, t: payload.t ?? null }),
  );
}
