import type { InboundMessage } from "../platforms/adapter.ts";

/** An agent backend: given a message, the reply text (empty: no reply). */
export interface Agent {
  name: string;
  reply(message: InboundMessage, signal: AbortSignal): Promise<string>;
}

/** An agent failure: `short` goes to the chat, `detail` (stderr, a response body) only to the log. */
export class AgentError extends Error {
  override name = "AgentError";
  constructor(
    readonly short: string,
    readonly detail = "",
  ) {
    super(short);
  }
}

/** What an agent receives: the message as JSON, never interpolated into a command line. */
export function agentPayload(message: InboundMessage) {
  return {
    platform: message.platform,
    chat_id: message.chatId,
    user_id: message.userId,
    message_id: message.messageId,
    text: message.text,
    at: message.at.toISOString(),
  };
}
