import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { afterEach, describe, expect, it } from "vitest";
import { alive } from "../../test/helpers/proc.ts";
import type { Agent } from "../agent/agent.ts";
import { AgentError } from "../agent/agent.ts";
import { echoAgent } from "../agent/echo.ts";
import { job as jobSchema } from "../config/schema.ts";
import { type ActionContext, actionOf, jobEnv, runAction } from "./actions.ts";
import type { JobConfig } from "./types.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const job = (fields: Record<string, unknown>): JobConfig =>
  v.parse(jobSchema, { schedule: "every 1h", ...fields });

function context(agent: Agent = echoAgent, signal = new AbortController().signal): ActionContext {
  const home = mkdtempSync(join(tmpdir(), "hermes-action-"));
  dirs.push(home);
  return {
    slot: "2026-05-01T10:00:00.000Z",
    home,
    env: { PATH: process.env.PATH },
    agent: () => agent,
    signal,
  };
}

describe("command jobs", () => {
  it("get the job's id and slot as JSON on stdin and in the environment, run in HERMES_HOME", async () => {
    const ctx = context();
    const result = await runAction(
      job({ id: "env", command: ["/bin/sh", "-c", 'cat; echo "$HERMES_JOB_ID $HERMES_JOB_SLOT $(pwd)"'] }),
      ctx,
    );
    expect(result).toEqual({
      status: "ok",
      output: `{"id":"env","slot":"2026-05-01T10:00:00.000Z"}\nenv 2026-05-01T10:00:00.000Z ${ctx.home}`,
    });
  });

  it("the job's timeout kills the whole process group: a grandchild is gone too", async () => {
    const ctx = context();
    const pidFile = join(ctx.home, "grandchild.pid");
    const result = await runAction(
      job({ id: "hang", command: `sleep 30 & echo $! > ${pidFile}; wait`, timeout: "300ms" }),
      ctx,
    );
    expect(result).toMatchObject({ status: "timeout", error: "timed out after 0.3 s" });
    const grandchild = Number(readFileSync(pidFile, "utf8"));
    const deadline = Date.now() + 2000;
    while (alive(grandchild) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(alive(grandchild)).toBe(false);
  });

  it("a non-zero exit is an error with the last line of stderr; a missing program says so", async () => {
    expect(
      await runAction(job({ id: "e", command: "echo part; echo bad thing >&2; exit 4" }), context()),
    ).toEqual({
      status: "error",
      output: "part",
      error: "exit code 4: bad thing",
    });
    expect(await runAction(job({ id: "m", command: ["/no/such/program"] }), context())).toMatchObject({
      status: "error",
      error: "cannot run /no/such/program: not found",
    });
  });

  it("an abort (the scheduler stopping) ends it at once, as interrupted", async () => {
    const controller = new AbortController();
    const ctx = context(echoAgent, controller.signal);
    const running = runAction(job({ id: "long", command: "sleep 30" }), ctx);
    setTimeout(() => controller.abort(), 100);
    expect(await running).toMatchObject({ status: "error", error: "interrupted: the scheduler stopped" });
  });
});

describe("prompt jobs", () => {
  it("ask the agent with a synthetic message and take its reply; agent errors and timeouts are reported", async () => {
    const seen: unknown[] = [];
    const agent: Agent = {
      name: "test",
      async reply(message) {
        seen.push(message);
        return `answer to ${message.text}`;
      },
    };
    expect(await runAction(job({ id: "p", prompt: "the news" }), context(agent))).toEqual({
      status: "ok",
      output: "answer to the news",
    });
    expect(seen[0]).toMatchObject({
      platform: "cron",
      chatId: "p",
      messageId: "cron:p:2026-05-01T10:00:00.000Z",
    });
    const failing: Agent = {
      name: "f",
      async reply() {
        throw new AgentError("HTTP 500", "upstream down");
      },
    };
    expect(await runAction(job({ id: "p", prompt: "x" }), context(failing))).toMatchObject({
      status: "error",
      error: "the agent failed: HTTP 500: upstream down",
    });
    const deaf: Agent = {
      name: "d",
      reply: (_m, signal) =>
        new Promise((_r, reject) => signal.addEventListener("abort", () => reject(new Error("aborted")))),
    };
    expect(await runAction(job({ id: "p", prompt: "x", timeout: "200ms" }), context(deaf))).toMatchObject({
      status: "timeout",
      error: "timed out after 0.2 s",
    });
  });
});

describe("actionOf and jobEnv", () => {
  it("a job has exactly one action", () => {
    expect(actionOf(job({ id: "a", message: "m" }))).toBe("message");
    expect(actionOf(job({ id: "a" }))).toEqual({ invalid: "it has no action (prompt, message or command)" });
    expect(actionOf(job({ id: "a", message: "m", command: "true" }))).toEqual({
      invalid: "it has 2 actions (message, command)",
    });
  });

  it("a job cannot speak to the service manager for the scheduler", () => {
    expect(jobEnv({ PATH: "/bin", NOTIFY_SOCKET: "/run/x", WATCHDOG_USEC: "1", HOME: "/h" })).toEqual({
      PATH: "/bin",
      HOME: "/h",
    });
  });
});
