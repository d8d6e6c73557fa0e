/**
 * The `command` agent: runs the user's program for each message, without a shell (`argv`) or with `/bin/sh -c`
 * (`shell`). The message goes in as JSON on stdin and is never part of the command line. Its working directory is
 * HERMES_HOME; its stdout, up to 64 KiB, is the reply; a timeout kills its whole process group.
 */
import { runProcess } from "../process/run.ts";
import { type Agent, AgentError, agentPayload } from "./agent.ts";

export { MAX_OUTPUT } from "../process/run.ts";

export interface CommandAgentOptions {
  argv?: string[];
  shell?: string;
  timeoutMs: number;
  cwd: string;
  env: Record<string, string | undefined>;
}

export function commandAgent(options: CommandAgentOptions): Agent {
  return {
    name: "command",
    async reply(message, signal) {
      const outcome = await runProcess({
        ...options,
        stdin: `${JSON.stringify(agentPayload(message))}\n`,
        signal,
      });
      switch (outcome.kind) {
        case "spawn-failed":
          throw new AgentError(outcome.message);
        case "timeout":
          throw new AgentError(`timed out after ${options.timeoutMs / 1000} s`, outcome.stderr);
        case "aborted":
        case "killed":
          throw new AgentError(
            `killed by ${outcome.kind === "killed" ? outcome.signal : "SIGKILL"}`,
            outcome.stderr,
          );
        case "exited": {
          if (outcome.code !== 0) throw new AgentError(`exit code ${outcome.code}`, outcome.stderr);
          const text = outcome.stdout.replace(/\r?\n$/, "");
          return outcome.truncated ? `${text}\n…(reply cut at 64 KiB)` : text;
        }
      }
    },
  };
}
