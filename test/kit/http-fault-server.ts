/**
 * The HTTP plumbing the platform test servers share: a node:http server on loopback that tracks its sockets so
 * that `dropConnections()` and `refuse()` really cut them, reads each body in full, and holds requests
 * unanswered while the platform's `stall` switch is on. Plain node:http, because a stall must keep a socket
 * open without answering and `refuse()` must really close the port. Each platform server composes one and
 * answers in its own wire format; WebSocket servers attach to `server`'s `upgrade` event.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

export interface HttpFaultServerOptions {
  /** Answers a request whose body has been read in full. */
  handle(req: IncomingMessage, body: string, res: ServerResponse): unknown;
  /** Whether requests are held unanswered right now (the platform's `stall` switch). */
  stalled(): boolean;
}

export class HttpFaultServer {
  readonly server: Server;
  #sockets = new Set<Socket>();
  #held: ServerResponse[] = [];
  #port = 0;

  constructor(options: HttpFaultServerOptions) {
    this.server = createServer((req, res) => void this.#receive(req, res, options));
    this.server.on("connection", (socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
  }

  /** The port it listens on (kept across `refuse()`, so that `listen()` resumes on the same one). */
  get port(): number {
    return this.#port;
  }

  get listening(): boolean {
    return this.server.listening;
  }

  /** Requests held unanswered by a stall. */
  get heldCount(): number {
    return this.#held.length;
  }

  /** Holds `res` unanswered until the connection is dropped (a stall). */
  hold(res: ServerResponse): void {
    this.#held.push(res);
  }

  /** Listens on 127.0.0.1: on a free port the first time, on the same port after `refuse()`. */
  listen(port = this.#port): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => {
        this.server.off("error", reject);
        this.#port = (this.server.address() as { port: number }).port;
        resolve();
      });
    });
  }

  /** Destroys every open socket (a network blip) and forgets held requests; the port stays open. */
  dropConnections(): void {
    this.#held = [];
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Drops every connection and closes the port: connections are refused until `listen()` again. */
  async refuse(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async #receive(req: IncomingMessage, res: ServerResponse, options: HttpFaultServerOptions): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (options.stalled()) return this.hold(res);
    await options.handle(req, Buffer.concat(chunks).toString("utf8"), res);
  }
}

/** Answers `body` as JSON with `status`, unless the response is already over (a dropped or answered request). */
export function replyJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}
