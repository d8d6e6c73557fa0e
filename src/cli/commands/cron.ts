import { group, notBuilt } from "../define.ts";

const json = { json: { type: "boolean", description: "print JSON" } } as const;
const id = { id: { type: "positional", description: "job id" } } as const;

export default group("cron", "Manage and inspect scheduled jobs", {
  list: notBuilt("cron list", "List jobs with their next and last runs", json),
  add: notBuilt("cron add", "Add a job to cron/jobs.json", {
    id: { type: "positional", description: "job id" },
    schedule: {
      type: "string",
      description: 'cron expression, "every 30m", or an ISO time',
      valueHint: "schedule",
    },
    timezone: { type: "string", description: "IANA time zone", valueHint: "zone" },
    prompt: { type: "string", description: "ask the agent this", valueHint: "text" },
    message: { type: "string", description: "send this text as is", valueHint: "text" },
    command: { type: "string", description: "run this shell command", valueHint: "cmd" },
    deliver: {
      type: "string",
      description: "targets, comma-separated (platform or platform:chat)",
      valueHint: "targets",
    },
    ...json,
  }),
  rm: notBuilt("cron rm", "Remove a job added with cron add", id),
  pause: notBuilt("cron pause", "Pause a job", id),
  resume: notBuilt("cron resume", "Resume a paused job", id),
  run: notBuilt("cron run", "Run a job now and print its result", { ...id, ...json }),
  status: notBuilt("cron status", "Say which scheduler is alive (exit 0) or that none is (exit 3)", json),
  // Loaded on demand, like the root's commands (its code: cron-serve.ts).
  serve: (() => import("./cron-serve.ts").then((m) => m.serve)) as unknown as ReturnType<typeof group>,
});
