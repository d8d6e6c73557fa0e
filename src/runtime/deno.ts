/** Deno: Deno.serve, and flock/_exit through Deno.dlopen (the gateway runs with -A). */
import { DEADLINE_WORKER, LOCK_EX, LOCK_NB, libcCandidates, O_CLOEXEC, O_CREAT, O_RDWR } from "./libc.ts";
import type { FetchHandler, Runtime, ServerHandle } from "./types.ts";

declare const Deno: {
  serve(
    options: {
      hostname?: string;
      port?: number;
      path?: string;
      transport?: "unix";
      onListen?: (addr: { port?: number }) => void;
    },
    handler: FetchHandler,
  ): { shutdown(): Promise<void>; addr: { port?: number } };
  dlopen(
    path: string,
    symbols: Record<string, { parameters: string[]; result: string }>,
  ): { symbols: Record<string, (...args: unknown[]) => number> };
  execPath(): string;
  mainModule: string;
};

function libc() {
  for (const name of libcCandidates()) {
    try {
      return Deno.dlopen(name, {
        open: { parameters: ["buffer", "i32", "i32"], result: "i32" },
        flock: { parameters: ["i32", "i32"], result: "i32" },
        close: { parameters: ["i32"], result: "i32" },
      });
    } catch {
      // try the next name
    }
  }
  return undefined;
}

function serve(options: Parameters<typeof Deno.serve>[0], fetch: FetchHandler): Promise<ServerHandle> {
  return new Promise((resolve) => {
    const server = Deno.serve(
      {
        ...options,
        onListen(addr) {
          resolve({ port: addr.port ?? 0, close: () => server.shutdown() });
        },
      },
      fetch,
    );
  });
}

export const runtime: Runtime = {
  name: "deno",
  serveTcp(fetch: FetchHandler, hostname: string, port: number) {
    return serve({ hostname, port }, fetch);
  },
  serveUnix(fetch: FetchHandler, path: string) {
    return serve({ path, transport: "unix" }, fetch);
  },
  tryFlock(path: string) {
    const lib = libc();
    if (!lib) return undefined;
    const fd = lib.symbols.open!(new TextEncoder().encode(`${path}\0`), O_RDWR | O_CREAT | O_CLOEXEC, 0o600);
    if (fd < 0) throw new Error(`cannot open the lock file ${path}`);
    if (lib.symbols.flock!(fd, LOCK_EX | LOCK_NB) === 0) return true;
    lib.symbols.close!(fd);
    return false;
  },
  armDeadline(ms: number, code: number) {
    const source = DEADLINE_WORKER(
      "",
      'Deno.dlopen(name, { _exit: { parameters: ["i32"], result: "void" } }).symbols._exit(code)',
    );
    const worker = new Worker(URL.createObjectURL(new Blob([source], { type: "application/javascript" })), {
      type: "module",
    });
    worker.postMessage({ ms, code });
    return () => worker.terminate();
  },
  selfCommand() {
    return [Deno.execPath(), ["run", "-A", Deno.mainModule]];
  },
};
