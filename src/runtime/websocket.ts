/**
 * Every outbound WebSocket of the platform adapters opens here, so that what differs between runtimes and
 * networks is decided in one place. `ws` is the client on all three runtimes (Bun provides it natively behind the
 * same API). Proxies (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY, SPEC §3) are chosen by the same rules as for
 * fetch (`proxyFor`), then handed to the runtime: Bun's `ws` takes a `proxy` option; on Node and Deno the
 * connection is tunnelled with CONNECT through an https-proxy-agent.
 */
import { HttpsProxyAgent } from "https-proxy-agent";
import WebSocket from "ws";
import { proxyFor } from "./fetch.ts";
import { runtimeName } from "./index.ts";

export type { WebSocket };

export interface OpenWebSocketOptions {
  /** Aborting it closes the socket (the supervisor tears a connection down through it). */
  signal: AbortSignal;
  headers?: Record<string, string>;
  /** How long the opening handshake may take. */
  handshakeTimeoutMs?: number;
}

/** Opens a client WebSocket to `url`; it is closed (code 1000 is never used: 4000) when `signal` aborts. */
export function openWebSocket(url: string, options: OpenWebSocketOptions): WebSocket {
  // ws: and wss: go through the proxy their HTTP counterparts would use.
  const proxy = proxyFor(new URL(url.replace(/^ws/i, "http")));
  const socket = new WebSocket(url, {
    headers: options.headers,
    handshakeTimeout: options.handshakeTimeoutMs ?? 15_000,
    perMessageDeflate: false,
    ...(proxy ? (runtimeName() === "bun" ? { proxy } : { agent: agentFor(proxy) }) : {}),
  });
  const close = () => {
    if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
    else if (socket.readyState === WebSocket.OPEN) socket.close(4000, "closing");
  };
  if (options.signal.aborted) close();
  else options.signal.addEventListener("abort", close, { once: true });
  socket.once("close", () => options.signal.removeEventListener("abort", close));
  return socket;
}

const agents = new Map<string, HttpsProxyAgent<string>>();

function agentFor(proxy: string): HttpsProxyAgent<string> {
  let agent = agents.get(proxy);
  if (!agent) {
    agent = new HttpsProxyAgent(proxy);
    agents.set(proxy, agent);
  }
  return agent;
}
