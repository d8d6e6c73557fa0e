/** The few things that differ between Bun, Node and Deno; everything else in hermes is shared code. */

export type FetchHandler = (request: Request) => Response | Promise<Response>;

export interface ServerHandle {
  /** The bound TCP port (0 for a unix socket). */
  port: number;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
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
  /** The command that starts this same program again: [executable, args before the user's arguments]. */
  selfCommand(): [string, string[]];
}
