/** Deno: Deno.serve, and flock, _exit and sd_notify through Deno.dlopen (the gateway runs with -A). */
import {
  DEADLINE_WORKER,
  LOCK_EX,
  LOCK_NB,
  libcCandidates,
  notifySocketWith,
  O_CLOEXEC,
  O_CREAT,
  O_RDWR,
  type SocketCalls,
} from "./libc.ts";
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
  UnsafePointerView: new (pointer: unknown) => { getInt32(): number };
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

/** socket/sendto for sd_notify. Without --allow-ffi, dlopen throws NotCapable: say which flag is missing. */
function socketLibc(): SocketCalls {
  let last: unknown;
  for (const name of libcCandidates()) {
    let symbols: Record<string, (...args: unknown[]) => unknown>;
    try {
      symbols = Deno.dlopen(name, {
        socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
        sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
        close: { parameters: ["i32"], result: "i32" },
        __errno_location: { parameters: [], result: "pointer" },
      }).symbols;
    } catch (error) {
      const denied = error instanceof Error && /NotCapable|PermissionDenied/.test(error.name);
      if (denied)
        throw new Error(
          "Deno runs without --allow-ffi, so it cannot reach the notify socket; run it with --allow-ffi (or -A), or use the compiled binary",
        );
      last = error;
      continue;
    }
    const s = symbols;
    return {
      socket: (domain, type, protocol) => Number(s.socket!(domain, type, protocol)),
      sendto: (fd, data, flags, address, length) =>
        Number(s.sendto!(fd, data, data.length, flags, address, length)),
      close: (fd) => Number(s.close!(fd)),
      errno: () => {
        const at = s.__errno_location!();
        return at ? new Deno.UnsafePointerView(at).getInt32() : 0;
      },
    };
  }
  throw new Error(`cannot open the C library through Deno.dlopen: ${String(last)}`);
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
  openNotifySocket(address: string) {
    return notifySocketWith(socketLibc(), address);
  },
  selfCommand() {
    return [Deno.execPath(), ["run", "-A", Deno.mainModule]];
  },
};
