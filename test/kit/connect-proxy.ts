/**
 * A tiny forward proxy on loopback: CONNECT tunnels (how HTTPS, and undici for any URL, go through a proxy) and
 * absolute-form requests (plain HTTP through a proxy). It records every target, so a test can prove that a
 * request really went through it. `refuseTargets` answers CONNECT with 502 for hosts that must not be reached.
 */
import { createServer, request as httpRequest, type Server } from "node:http";
import { connect, type Socket } from "node:net";

export interface ProxiedRequest {
  method: string;
  /** `host:port` of the destination. */
  target: string;
}

export class ConnectProxy {
  readonly seen: ProxiedRequest[] = [];
  /** Hosts whose CONNECT is answered 502 instead of tunnelled (a name that does not resolve, say). */
  readonly refuseTargets = new Set<string>();
  #server: Server;
  #sockets = new Set<Socket>();
  #port = 0;

  private constructor() {
    this.#server = createServer((req, res) => {
      // Absolute-form: `GET http://host:port/path HTTP/1.1`.
      const url = new URL(req.url ?? "");
      this.seen.push({ method: req.method ?? "GET", target: url.host });
      const upstream = httpRequest(
        {
          host: url.hostname,
          port: url.port || 80,
          method: req.method,
          path: `${url.pathname}${url.search}`,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on("error", () => {
        res.writeHead(502);
        res.end();
      });
      req.pipe(upstream);
    });
    this.#server.on("connect", (req, client: Socket, head: Buffer) => {
      const target = req.url ?? "";
      this.seen.push({ method: "CONNECT", target });
      const [host, port] = splitHostPort(target);
      if (this.refuseTargets.has(host)) {
        client.end("HTTP/1.1 502 Bad Gateway\r\n\r\n");
        return;
      }
      const upstream = connect(port, host, () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        if (head.length > 0) upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      const close = () => {
        upstream.destroy();
        client.destroy();
      };
      upstream.on("error", () => client.end("HTTP/1.1 502 Bad Gateway\r\n\r\n"));
      client.on("error", close);
    });
    this.#server.on("connection", (socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
  }

  static async start(): Promise<ConnectProxy> {
    const proxy = new ConnectProxy();
    await new Promise<void>((resolve) => proxy.#server.listen(0, "127.0.0.1", resolve));
    proxy.#port = (proxy.#server.address() as { port: number }).port;
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Requests that went to `host:port`, by any method. */
  to(target: string): ProxiedRequest[] {
    return this.seen.filter((r) => r.target === target);
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

function splitHostPort(target: string): [string, number] {
  const colon = target.lastIndexOf(":");
  return [target.slice(0, colon).replace(/^\[(.*)\]$/, "$1"), Number(target.slice(colon + 1))];
}
