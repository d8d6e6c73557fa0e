/** The default agent: replies with the message itself, so a fresh install can be tried end to end. */
import type { Agent } from "./agent.ts";

export const echoAgent: Agent = {
  name: "echo",
  async reply(message) {
    return message.text;
  },
};
