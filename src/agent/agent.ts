import type { InboundMessage } from "../platforms/adapter.ts";

/** An agent backend: given a message, the reply text (empty: no reply). */
export interface Agent {
  name: string;
  reply(message: InboundMessage, signal: AbortSignal): Promise<string>;
}
