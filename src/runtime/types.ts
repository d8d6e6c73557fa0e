/** The few things that differ between Bun, Node and Deno; everything else in hermes is shared code. */

export type FetchHandler = (request: Request) => Response | Promise<Response>;

export interface ServerHandle {
  /** The bound TCP port (0 for a unix socket). */
  port: number;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** A datagram socket to the service manager's notify socket (`$NOTIFY_SOCKET`), open for the process's life. */
export interface NotifySocket {
  /** Sends one datagram without waiting; throws an Error naming the errno when the kernel refuses it. */
  send(message: string): void;
  close(): void;
}

export interface Runtime {
  name: "bun" | "node" | "deno";
  serveTcp(fetch: FetchHandler, hostname: string, port: number): Promise<ServerHandle>;
  serveUnix(fetch: FetchHandler, path: string): Promise<ServerHandle>;
  /**
   * Takes the exclusive advisory lock (flock) on `path` without waiting; the kernel releases it when the process
   * dies. Returns false when another process holds it, undefined when this runtime cannot flock. Once taken,
   * the lock is kept for the life of the process.
   */
  tryFlock(path: string): boolean | undefined;
  /**
   * Arms a deadline that ends the whole process with `code` even when the event loop is blocked (a busy loop),
   * from a separate thread. Returns a function that disarms it.
   */
  armDeadline(ms: number, code: number): () => void;
  /**
   * Opens a socket for sd_notify messages to `address` (a path, or `@name` in the abstract namespace). Throws an
   * Error whose message says why when this runtime cannot (Node has no unix datagram sockets; Deno needs FFI).
   */
  openNotifySocket(address: string): NotifySocket;
  /** The command that starts this same program again: [executable, args before the user's arguments]. */
  selfCommand(): [string, string[]];
}
