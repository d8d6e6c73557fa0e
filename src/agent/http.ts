/**
 * The `http` agent: POSTs the message as JSON to the user's agent; the reply is the response: JSON
 * `{"text": "…"}` (or `{"reply": "…"}`), or a text body; 204 means no reply. Network errors and 5xx are
 * retried (`retries` times, with backoff); the whole call has a timeout.
 */
import { backoffDelay } from "../gateway/backoff.ts";
import { outboundFetch } from "../runtime/fetch.ts";
import { type Agent, AgentError, agentPayload } from "./agent.ts";

export interface HttpAgentOptions {
  url: string;
  timeoutMs: number;
  retries: number;
  headers?: Record<string, string>;
}

export function httpAgent(options: HttpAgentOptions): Agent {
  return {
    name: "http",
    async reply(message, signal) {
      const deadline = AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)]);
      const body = JSON.stringify(agentPayload(message));
      let last = "";
      for (let attempt = 0; attempt <= options.retries; attempt++) {
        if (attempt > 0)
          await new Promise((resolve) =>
            setTimeout(resolve, backoffDelay(attempt, { initialMs: 500, maxMs: 5000 })),
          );
        let response: Response;
        try {
          // Through the proxy the environment names, like every outbound request (NO_PROXY for a local agent).
          response = await outboundFetch(options.url, {
            method: "POST",
            headers: { "content-type": "application/json", ...options.headers },
            body,
            signal: deadline,
          });
        } catch (error) {
          if (deadline.aborted) throw new AgentError(`no answer within ${options.timeoutMs / 1000} s`);
          last = `unreachable: ${error instanceof Error ? error.message : String(error)}`;
          continue;
        }
        const text = await response.text();
        if (response.status >= 500) {
          last = `HTTP ${response.status}`;
          continue;
        }
        if (response.status === 204) return "";
        if (!response.ok) throw new AgentError(`HTTP ${response.status}`, text.slice(0, 4096));
        if ((response.headers.get("content-type") ?? "").includes("json")) {
          try {
            const parsed = JSON.parse(text) as { text?: unknown; reply?: unknown } | string;
            if (typeof parsed === "string") return parsed;
            const reply = parsed.text ?? parsed.reply;
            if (typeof reply === "string") return reply;
          } catch {
            // not JSON after all: the body is the reply
          }
          throw new AgentError('the agent answered JSON without a "text" field', text.slice(0, 4096));
        }
        return text;
      }
      throw new AgentError(last || "no answer");
    },
  };
}
