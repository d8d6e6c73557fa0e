/**
 * The `command` agent: runs the user's program for each message, without a shell (`argv`) or with `/bin/sh -c`
 * (`shell`). The message goes in as JSON on stdin and is never part of the command line. Its working directory is
 * HERMES_HOME; its stdout, up to 64 KiB, is the reply; a timeout kills its whole process group.
 */
import { spawn } from "node:child_process";
import { type Agent, AgentError, agentPayload } from "./agent.ts";

export const MAX_OUTPUT = 64 * 1024;

export interface CommandAgentOptions {
  argv?: string[];
  shell?: string;
  timeoutMs: number;
  cwd: string;
  env: Record<string, string | undefined>;
}

export function commandAgent(options: CommandAgentOptions): Agent {
  const [file, args] = options.argv?.length
    ? [options.argv[0]!, options.argv.slice(1)]
    : ["/bin/sh", ["-c", options.shell ?? ""]];
  return {
    name: "command",
    reply(message, signal) {
      return new Promise((resolve, reject) => {
        const child = spawn(file, args, {
          cwd: options.cwd,
          env: options.env as NodeJS.ProcessEnv,
          stdio: ["pipe", "pipe", "pipe"],
          // Its own process group, so a timeout ends everything it started.
          detached: true,
        });
        const stdout = capture();
        const stderr = capture();
        let timedOut = false;
        const kill = () => {
          try {
            if (child.pid) process.kill(-child.pid, "SIGKILL");
          } catch {
            child.kill("SIGKILL");
          }
        };
        const timer = setTimeout(() => {
          timedOut = true;
          kill();
        }, options.timeoutMs);
        const onAbort = () => kill();
        signal.addEventListener("abort", onAbort, { once: true });
        child.stdout.on("data", stdout.add);
        child.stderr.on("data", stderr.add);
        // A program that does not read stdin closes it: that is not an error.
        child.stdin.on("error", () => {});
        child.stdin.end(`${JSON.stringify(agentPayload(message))}\n`);
        child.once("error", (error: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          reject(
            new AgentError(`cannot run ${file}: ${error.code === "ENOENT" ? "not found" : error.message}`),
          );
        });
        child.once("close", (code, signalName) => {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          if (timedOut)
            return reject(new AgentError(`timed out after ${options.timeoutMs / 1000} s`, stderr.text()));
          if (code !== 0) {
            return reject(
              new AgentError(code === null ? `killed by ${signalName}` : `exit code ${code}`, stderr.text()),
            );
          }
          const text = stdout.text().replace(/\r?\n$/, "");
          resolve(stdout.truncated ? `${text}\n…(reply cut at 64 KiB)` : text);
        });
      });
    },
  };
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
