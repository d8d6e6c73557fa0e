/**
 * Every outbound WebSocket of the platform adapters opens here, so that what differs between runtimes and
 * networks (proxies: HTTPS_PROXY, ALL_PROXY, NO_PROXY, SPEC §3) is decided in one place. `ws` is the client on
 * all three runtimes (Bun and Deno provide it natively behind the same API).
 */
import WebSocket from "ws";

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
  const socket = new WebSocket(url, {
    headers: options.headers,
    handshakeTimeout: options.handshakeTimeoutMs ?? 15_000,
    perMessageDeflate: false,
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
