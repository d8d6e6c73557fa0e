/** Bun: Bun.serve, and flock, _exit and sd_notify through bun:ffi. This is the runtime of the shipped binary. */
import {
  DEADLINE_WORKER,
  LOCK_EX,
  LOCK_NB,
  libcCandidates,
  notifySocketWith,
  O_CLOEXEC,
  O_CREAT,
  O_RDWR,
} from "./libc.ts";
import type { FetchHandler, Runtime, ServerHandle } from "./types.ts";

// bun:ffi is imported on first use, never at module load: the Node bundle contains this file too.
type Ffi = typeof import("bun:ffi");
let ffi: Ffi | undefined;

function libc() {
  if (!ffi) return undefined;
  const { dlopen, FFIType } = ffi;
  for (const name of libcCandidates()) {
    try {
      return dlopen(name, {
        open: { args: [FFIType.cstring, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
        flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
        close: { args: [FFIType.i32], returns: FFIType.i32 },
      });
    } catch {
      // try the next name
    }
  }
  return undefined;
}

/** socket/sendto for sd_notify: raw libc, so the binary needs no libsystemd. */
function socketLibc() {
  if (!ffi) throw new Error("bun:ffi is not loaded");
  const { dlopen, FFIType, read } = ffi;
  let last: unknown;
  for (const name of libcCandidates()) {
    try {
      const { symbols } = dlopen(name, {
        socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
        sendto: {
          args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32],
          returns: FFIType.i64,
        },
        close: { args: [FFIType.i32], returns: FFIType.i32 },
        __errno_location: { args: [], returns: FFIType.ptr },
      });
      return {
        socket: (domain: number, type: number, protocol: number) => symbols.socket(domain, type, protocol),
        sendto: (fd: number, data: Uint8Array, flags: number, address: Uint8Array, length: number) =>
          Number(symbols.sendto(fd, data, data.length, flags, address, length)),
        close: (fd: number) => symbols.close(fd),
        errno: () => {
          const at = symbols.__errno_location();
          return at ? read.i32(at) : 0;
        },
      };
    } catch (error) {
      last = error;
    }
  }
  throw new Error(`cannot open the C library through bun:ffi: ${String(last)}`);
}

let lib: ReturnType<typeof libc> | null = null;
/** Lock file descriptors stay open for the life of the process: closing one would drop the lock. */
const held: number[] = [];

function handle(server: ReturnType<typeof Bun.serve>): ServerHandle {
  return {
    port: server.port ?? 0,
    async close() {
      await server.stop(true);
    },
  };
}

export async function createRuntime(): Promise<Runtime> {
  ffi = await import("bun:ffi");
  return runtime;
}

const runtime: Runtime = {
  name: "bun",
  async serveTcp(fetch: FetchHandler, hostname: string, port: number) {
    return handle(Bun.serve({ hostname, port, fetch, reusePort: false }));
  },
  async serveUnix(fetch: FetchHandler, path: string) {
    return handle(Bun.serve({ unix: path, fetch }));
  },
  tryFlock(path: string) {
    lib ??= libc();
    if (!lib) return undefined;
    const fd = lib.symbols.open(Buffer.from(`${path}\0`), O_RDWR | O_CREAT | O_CLOEXEC, 0o600);
    if (fd < 0) throw new Error(`cannot open the lock file ${path}`);
    if (lib.symbols.flock(fd, LOCK_EX | LOCK_NB) !== 0) {
      lib.symbols.close(fd);
      return false;
    }
    held.push(fd);
    return true;
  },
  armDeadline(ms: number, code: number) {
    const source = DEADLINE_WORKER(
      'import { dlopen, FFIType } from "bun:ffi";',
      "dlopen(name, { _exit: { args: [FFIType.i32], returns: FFIType.void } }).symbols._exit(code)",
    );
    const worker = new Worker(URL.createObjectURL(new Blob([source], { type: "application/javascript" })));
    worker.unref();
    worker.postMessage({ ms, code });
    return () => {
      worker.postMessage({ ms: -1, code });
      worker.terminate();
    };
  },
  openNotifySocket(address: string) {
    return notifySocketWith(socketLibc(), address);
  },
  selfCommand() {
    // A compiled binary is its own interpreter; `bun file.ts` needs the script path again.
    const compiled = (process.argv[1] ?? "").startsWith("/$bunfs/") || import.meta.url.includes("$bunfs");
    return compiled ? [process.execPath, []] : [process.execPath, [process.argv[1]!]];
  },
};
