import { group, notBuilt } from "../define.ts";

export const send = notBuilt(
  "send",
  "Send one message through the running gateway, or directly when none runs",
  {
    target: { type: "positional", description: "platform (its home channel) or platform:chat_id" },
    text: { type: "positional", description: "the message" },
  },
);

const dead = {
  dead: { type: "boolean", description: "act on dead letters" },
  json: { type: "boolean", description: "print JSON" },
} as const;

export const outbox = group("outbox", "Inspect and act on undelivered and dead messages", {
  list: notBuilt("outbox list", "List undelivered (or, with --dead, dead) messages", dead),
  retry: notBuilt("outbox retry", "Retry undelivered (or dead) messages now", dead),
  purge: notBuilt("outbox purge", "Drop undelivered (or dead) messages", dead),
});
