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
