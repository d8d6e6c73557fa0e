/** The agent the configuration asks for. */
import type { Config } from "../config/schema.ts";
import type { Agent } from "./agent.ts";
import { AgentError } from "./agent.ts";
import { commandAgent } from "./command.ts";
import { echoAgent } from "./echo.ts";
import { httpAgent } from "./http.ts";

export function createAgent(
  config: Config["agent"],
  context: { home: string; env: Record<string, string | undefined> },
): Agent {
  if (config.kind === "command" && config.command) {
    return commandAgent({
      argv: config.command.argv,
      shell: config.command.shell,
      timeoutMs: config.command.timeout,
      cwd: context.home,
      env: context.env,
    });
  }
  if (config.kind === "http" && config.http?.url) {
    return httpAgent({
      url: config.http.url,
      timeoutMs: config.http.timeout,
      retries: config.http.retries,
      headers: config.http.headers,
    });
  }
  if (config.kind === "echo") return echoAgent;
  // An agent kind without its settings (lint says agent-config), or one not built yet: say so in the chat.
  const why =
    config.kind === "openai"
      ? "the openai agent is not built yet in this version"
      : `agent.${config.kind} is not configured`;
  return {
    name: config.kind,
    async reply() {
      throw new AgentError(why);
    },
  };
}
