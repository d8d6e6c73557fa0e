/**
 * A job's action, run once: `message` (its text is the result), `command` (as the command agent runs programs:
 * argv list or shell line, JSON on stdin, cwd HERMES_HOME, 64 KiB of stdout, the job's timeout kills the whole
 * process group), or `prompt` (a synthetic message to the configured agent backend; its reply is the result).
 */
import { readdirSync, readFileSync } from "node:fs";
import type { Agent } from "../agent/agent.ts";
import { AgentError } from "../agent/agent.ts";
import { runProcess } from "../process/run.ts";
import type { JobConfig } from "./types.ts";

export interface ActionContext {
  /** The slot (ISO) this run is for, or `manual-<time>` for a run asked for by hand. */
  slot: string;
  home: string;
  env: Record<string, string | undefined>;
  agent: () => Agent;
  /** Aborted when the scheduler stops (after the drain): the action ends at once. */
  signal: AbortSignal;
}

export type ActionResult =
  | { status: "ok"; output: string }
  | { status: "error" | "timeout"; output: string; error: string };

/** Which action a job has, or why it cannot run (none, several, an empty command). */
export function actionOf(job: JobConfig): "message" | "command" | "prompt" | { invalid: string } {
  const actions = (["prompt", "message", "command"] as const).filter((k) => job[k] !== undefined);
  if (actions.length === 0) return { invalid: "it has no action (prompt, message or command)" };
  if (actions.length > 1) return { invalid: `it has ${actions.length} actions (${actions.join(", ")})` };
  if (Array.isArray(job.command) && job.command.length === 0)
    return { invalid: "its command is an empty list" };
  return actions[0]!;
}

/**
 * The environment of command jobs: the scheduler's, without what would let a job speak for the scheduler's
 * process to the service manager.
 */
export function jobEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const out = { ...env };
  for (const name of [
    "NOTIFY_SOCKET",
    "WATCHDOG_PID",
    "WATCHDOG_USEC",
    "LISTEN_FDS",
    "LISTEN_PID",
    "LISTEN_FDNAMES",
  ])
    delete out[name];
  return out;
}

/** Time an action gets after its timeout to end before it is abandoned (its result no longer awaited). */
const ABANDON_AFTER_MS = 5000;

export async function runAction(job: JobConfig, ctx: ActionContext): Promise<ActionResult> {
  const action = actionOf(job);
  if (typeof action === "object") return { status: "error", output: "", error: action.invalid };
  if (action === "message") return { status: "ok", output: job.message ?? "" };
  const seconds = `${job.timeout / 1000} s`;
  if (action === "command") {
    const command = job.command!;
    const outcome = await runProcess({
      ...(Array.isArray(command) ? { argv: command } : { shell: command }),
      stdin: `${JSON.stringify({ id: job.id, slot: ctx.slot })}\n`,
      timeoutMs: job.timeout,
      cwd: ctx.home,
      env: { ...ctx.env, HERMES_HOME: ctx.home, HERMES_JOB_ID: job.id, HERMES_JOB_SLOT: ctx.slot },
      signal: ctx.signal,
    });
    switch (outcome.kind) {
      case "spawn-failed":
        return { status: "error", output: "", error: outcome.message };
      case "timeout":
        return { status: "timeout", output: "", error: `timed out after ${seconds}${tail(outcome.stderr)}` };
      case "aborted":
        return { status: "error", output: "", error: "interrupted: the scheduler stopped" };
      case "killed":
        return {
          status: "error",
          output: outcome.stdout,
          error: `killed by ${outcome.signal}${tail(outcome.stderr)}`,
        };
      case "exited": {
        const text = outcome.stdout.replace(/\r?\n$/, "");
        const output = outcome.truncated ? `${text}\n…(output cut at 64 KiB)` : text;
        if (outcome.code === 0) return { status: "ok", output };
        return { status: "error", output, error: `exit code ${outcome.code}${tail(outcome.stderr)}` };
      }
    }
  }
  return prompt(job, ctx, seconds);
}

/** The agent's reply to the job's prompt, within the job's timeout. */
async function prompt(job: JobConfig, ctx: ActionContext, seconds: string): Promise<ActionResult> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  ctx.signal.addEventListener("abort", stop, { once: true });
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<ActionResult>((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
      // An agent that ignores the abort is abandoned a little later: the job's run ends either way.
      timer = setTimeout(
        () => resolve({ status: "timeout", output: "", error: `timed out after ${seconds}` }),
        ABANDON_AFTER_MS,
      );
    }, job.timeout);
  });
  const reply = ctx
    .agent()
    .reply(
      {
        platform: "cron",
        chatId: job.id,
        userId: "cron",
        messageId: `cron:${job.id}:${ctx.slot}`,
        text: job.prompt ?? "",
        at: new Date(),
      },
      controller.signal,
    )
    .then(
      (output): ActionResult => ({ status: "ok", output }),
      (error: unknown): ActionResult => {
        if (timedOut) return { status: "timeout", output: "", error: `timed out after ${seconds}` };
        if (ctx.signal.aborted)
          return { status: "error", output: "", error: "interrupted: the scheduler stopped" };
        const text =
          error instanceof AgentError
            ? `${error.short}${tail(error.detail)}`
            : error instanceof Error
              ? error.message
              : String(error);
        return { status: "error", output: "", error: `the agent failed: ${text}` };
      },
    );
  try {
    return await Promise.race([reply, deadline]);
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener("abort", stop);
  }
}

/** The last line of stderr, for the error message (the log gets no more than that). */
function tail(stderr: string): string {
  const last = stderr.trim().split("\n").pop()?.trim();
  return last ? `: ${last.slice(0, 300)}` : "";
}

/**
 * Ends the processes a command job left running when its scheduler died (kill -9): they carry the job's id and
 * slot in their environment. Otherwise the job could run twice at once after a takeover. Linux only (/proc);
 * elsewhere nothing is found. Returns how many were ended.
 */
export function killLeftovers(jobId: string, slot: string): number {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return 0;
  }
  const markers = [`HERMES_JOB_ID=${jobId}`, `HERMES_JOB_SLOT=${slot}`];
  let killed = 0;
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      if (!markers.every((m) => env.includes(m))) continue;
      process.kill(Number(pid), "SIGKILL");
      killed++;
    } catch {
      // gone meanwhile, or another user's process
    }
  }
  return killed;
}
