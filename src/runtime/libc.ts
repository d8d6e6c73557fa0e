import type { NotifySocket } from "./types.ts";

/** Names of the C library to open through FFI, per platform (glibc, musl, macOS). */
export function libcCandidates(): string[] {
  if (process.platform === "darwin") return ["libSystem.B.dylib", "/usr/lib/libSystem.B.dylib"];
  const arch = process.arch === "arm64" ? "aarch64" : "x86_64";
  return ["libc.so.6", `libc.musl-${arch}.so.1`, "libc.so"];
}

export const O_RDWR = 2;
export const O_CREAT = process.platform === "darwin" ? 0x200 : 0o100;
export const O_CLOEXEC = process.platform === "darwin" ? 0x1000000 : 0o2000000;
export const LOCK_EX = 2;
export const LOCK_NB = 4;

/**
 * The body of the deadline worker: it waits on its own event loop, which a busy main thread cannot block, then
 * calls `_exit(code)`, which ends every thread at once. `prelude` imports what `exit` (a statement using `name`
 * and `code`) needs.
 */
export const DEADLINE_WORKER = (prelude: string, exit: string) => `${prelude}
const candidates = ${JSON.stringify(libcCandidates())};
let timer;
self.onmessage = (event) => {
  const { ms, code } = event.data;
  clearTimeout(timer);
  if (ms < 0) return;
  timer = setTimeout(() => {
    for (const name of candidates) {
      try { ${exit}; return; } catch {}
    }
  }, ms);
};
`;

// Linux values: systemd, and so a notify socket, exists only there.
export const AF_UNIX = 1;
export const SOCK_DGRAM = 2;
export const SOCK_CLOEXEC = 0o2000000;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;
/** sizeof(sun_path) in Linux's `struct sockaddr_un`. */
const SUN_PATH_MAX = 108;

/**
 * The `struct sockaddr_un` for a notify socket address (`$NOTIFY_SOCKET`): an absolute path, or `@name` for the
 * abstract namespace, whose first byte in `sun_path` is NUL. `length` is the address length to pass to sendto.
 * Throws a RangeError naming the value when it is neither, or too long.
 */
export function sockaddrUn(address: string): { bytes: Uint8Array; length: number } {
  const abstract = address.startsWith("@");
  if (!abstract && !address.startsWith("/"))
    throw new RangeError(`NOTIFY_SOCKET=${address} is neither an absolute path nor an @abstract name`);
  const name = new TextEncoder().encode(abstract ? address.slice(1) : address);
  if (abstract && name.length === 0) throw new RangeError("NOTIFY_SOCKET=@ names no abstract socket");
  // A path needs its terminating NUL inside sun_path; an abstract name needs its leading NUL.
  if (name.length + 1 > SUN_PATH_MAX)
    throw new RangeError(
      `NOTIFY_SOCKET=${address} is ${name.length} bytes long; a unix socket address holds at most ${SUN_PATH_MAX - 1}`,
    );
  const bytes = new Uint8Array(2 + SUN_PATH_MAX);
  new DataView(bytes.buffer).setUint16(0, AF_UNIX, true);
  bytes.set(name, abstract ? 3 : 2);
  return { bytes, length: 2 + 1 + name.length };
}

const ERRNO: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  11: "EAGAIN",
  13: "EACCES",
  90: "EMSGSIZE",
  97: "EAFNOSUPPORT",
  105: "ENOBUFS",
  111: "ECONNREFUSED",
};

export function errnoName(errno: number): string {
  return `errno ${errno}${ERRNO[errno] ? ` (${ERRNO[errno]})` : ""}`;
}

/** The libc calls a notify socket needs, as each runtime's FFI exposes them. */
export interface SocketCalls {
  socket(domain: number, type: number, protocol: number): number;
  sendto(fd: number, data: Uint8Array, flags: number, address: Uint8Array, length: number): number;
  close(fd: number): number;
  errno(): number;
}

/**
 * An unbound datagram socket that sends to `address`. Sends never wait (MSG_DONTWAIT: a full receive queue
 * is an EAGAIN error, not a blocked event loop) and never raise SIGPIPE; the socket is close-on-exec, so agents
 * and replacements never inherit it.
 */
export function notifySocketWith(calls: SocketCalls, address: string): NotifySocket {
  if (process.platform !== "linux")
    throw new Error(`NOTIFY_SOCKET is set, but systemd notification is only built for Linux`);
  const { bytes, length } = sockaddrUn(address);
  const fd = calls.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket(AF_UNIX, SOCK_DGRAM) failed: ${errnoName(calls.errno())}`);
  let open = true;
  return {
    send(message: string) {
      if (!open) throw new Error("the notify socket is closed");
      const data = new TextEncoder().encode(message);
      if (calls.sendto(fd, data, MSG_DONTWAIT | MSG_NOSIGNAL, bytes, length) < 0)
        throw new Error(`sending to ${address} failed: ${errnoName(calls.errno())}`);
    },
    close() {
      if (open) calls.close(fd);
      open = false;
    },
  };
}
