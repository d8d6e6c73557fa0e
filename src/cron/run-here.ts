/**
 * `hermes cron run ID` when no scheduler is alive: the job's action runs in this process and its result is
 * printed, not delivered (delivery needs the gateway's outbox). Run state is not written: a manual run is not a
 * slot, and only the scheduler lock's holder writes `cron/state.json`.
 */
import { AgentError } from "../agent/agent.ts";
import { commandAgent } from "../agent/command.ts";
import { createAgent } from "../agent/index.ts";
import type { LoadResult } from "../config/load.ts";
import type { InboundMessage } from "../platforms/adapter.ts";
import type { JobConfig, RunResult } from "./types.ts";

/** What a job's program or agent receives: the job as the sender, the run's time, and the prompt as the text. */
export function jobMessage(job: JobConfig, at: Date): InboundMessage {
  return {
    platform: "cron",
    chatId: job.id,
    userId: "cron",
    messageId: `cron:${job.id}:${at.toISOString()}`,
    text: job.prompt ?? job.message ?? "",
    at,
  };
}

export async function runHere(
  job: JobConfig,
  load: LoadResult | undefined,
  home: string,
): Promise<RunResult> {
  const started = Date.now();
  const done = (status: RunResult["status"], output: string, error: string | null): RunResult => ({
    id: job.id,
    status,
    output,
    error,
    delivery: "none",
    duration_ms: Date.now() - started,
  });
  if (job.message !== undefined) return done("ok", job.message, null);

  const env: Record<string, string | undefined> = {};
  if (load) for (const [name, value] of load.env.entries()) env[name] = value.value;
  else Object.assign(env, process.env);
  let agent: ReturnType<typeof commandAgent>;
  if (job.command !== undefined) {
    agent = commandAgent({
      ...(Array.isArray(job.command) ? { argv: job.command } : { shell: job.command }),
      // The job's own deadline below decides; this one only backs it up.
      timeoutMs: job.timeout + 5000,
      cwd: home,
      env,
    });
  } else if (job.prompt !== undefined && load) {
    agent = createAgent(load.config.agent, { home, env });
  } else {
    return done(
      "error",
      "",
      "the agent configuration cannot be read (config.yaml), so a prompt cannot be asked",
    );
  }

  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, job.timeout);
  try {
    const reply = agent.reply(jobMessage(job, new Date(started)), controller.signal);
    // An agent that ignores the signal must not hold the run past its timeout.
    const deadline = new Promise<never>((_, reject) =>
      controller.signal.addEventListener("abort", () => reject(new Error("timeout")), { once: true }),
    );
    return done("ok", await Promise.race([reply, deadline]), null);
  } catch (error) {
    if (timedOut) return done("timeout", "", `timed out after ${job.timeout / 1000} s`);
    if (error instanceof AgentError)
      // The detail is the program's stderr: its start says what went wrong.
      return done(
        "error",
        "",
        error.detail.trim() ? `${error.short}: ${error.detail.trim().slice(0, 2000)}` : error.short,
      );
    return done("error", "", error instanceof Error ? error.message : String(error));
  } finally {
    clearTimeout(timer);
  }
}
