/**
 * Runs a user's program the way hermes always does (the `command` agent, `command` jobs): without a shell
 * (`argv`) or with `/bin/sh -c` (`shell`), input as JSON on stdin and never on the command line, in its own
 * process group so that a timeout or an abort ends everything it started, stdout kept up to 64 KiB.
 */
import { spawn } from "node:child_process";

export const MAX_OUTPUT = 64 * 1024;

export interface RunProcessOptions {
  argv?: string[];
  shell?: string;
  /** Written to stdin, then stdin is closed. */
  stdin: string;
  timeoutMs: number;
  cwd: string;
  env: Record<string, string | undefined>;
  /** Aborting kills the process group too. */
  signal?: AbortSignal;
  /** Called once the process exists, with its pid (= its process group id). */
  started?(pid: number): void;
}

export type ProcessOutcome =
  | { kind: "exited"; code: number; stdout: string; truncated: boolean; stderr: string }
  | { kind: "killed"; signal: string; stdout: string; truncated: boolean; stderr: string }
  | { kind: "timeout"; stderr: string }
  | { kind: "aborted"; stderr: string }
  /** It could not be started at all (ENOENT, EACCES): `message` says why. */
  | { kind: "spawn-failed"; message: string };

/** The program named by `argv[0]`, or the shell. */
export function programOf(options: { argv?: string[]; shell?: string }): string {
  return options.argv?.length ? options.argv[0]! : "/bin/sh";
}

export function runProcess(options: RunProcessOptions): Promise<ProcessOutcome> {
  const [file, args] = options.argv?.length
    ? [options.argv[0]!, options.argv.slice(1)]
    : ["/bin/sh", ["-c", options.shell ?? ""]];
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env as NodeJS.ProcessEnv,
      stdio: ["pipe", "pipe", "pipe"],
      // Its own process group, so a timeout ends everything it started.
      detached: true,
    });
    const stdout = capture();
    const stderr = capture();
    let ended: "timeout" | "aborted" | undefined;
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    const timer = setTimeout(() => {
      ended ??= "timeout";
      kill();
    }, options.timeoutMs);
    const onAbort = () => {
      ended ??= "aborted";
      kill();
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    };
    if (child.pid) options.started?.(child.pid);
    child.stdout.on("data", stdout.add);
    child.stderr.on("data", stderr.add);
    // A program that does not read stdin closes it: that is not an error.
    child.stdin.on("error", () => {});
    child.stdin.end(options.stdin);
    child.once("error", (error: NodeJS.ErrnoException) => {
      done();
      resolve({
        kind: "spawn-failed",
        message: `cannot run ${file}: ${error.code === "ENOENT" ? "not found" : error.message}`,
      });
    });
    child.once("close", (code, signalName) => {
      done();
      if (ended) return resolve({ kind: ended, stderr: stderr.text() });
      const out = { stdout: stdout.text(), truncated: stdout.truncated, stderr: stderr.text() };
      if (code === null) resolve({ kind: "killed", signal: String(signalName), ...out });
      else resolve({ kind: "exited", code, ...out });
    });
  });
}

/** Keeps the first 64 KiB of a stream and reads (and drops) the rest, so the program never blocks on a full pipe. */
function capture() {
  const chunks: Buffer[] = [];
  let size = 0;
  const state = {
    truncated: false,
    add(chunk: Buffer) {
      if (size >= MAX_OUTPUT) {
        state.truncated = true;
        return;
      }
      const room = MAX_OUTPUT - size;
      if (chunk.length > room) state.truncated = true;
      chunks.push(chunk.subarray(0, room));
      size += Math.min(chunk.length, room);
    },
    text() {
      return Buffer.concat(chunks).toString("utf8");
    },
  };
  return state;
}
