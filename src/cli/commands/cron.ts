import type { CommandDef } from "citty";
import { group } from "../define.ts";

/** The job commands load with their first use, so `cron serve` does not carry them. */
const lazy = (load: () => Promise<CommandDef>) => load as unknown as CommandDef;
const inspect = (name: "list" | "run" | "status") =>
  lazy(() => import("./cron-jobs.ts").then((m) => m[name]));
const edit = (name: "add" | "rm" | "pause" | "resume") =>
  lazy(() => import("./cron-edit.ts").then((m) => m[name]));

export default group("cron", "Manage and inspect scheduled jobs", {
  list: inspect("list"),
  add: edit("add"),
  rm: edit("rm"),
  pause: edit("pause"),
  resume: edit("resume"),
  run: inspect("run"),
  status: inspect("status"),
  // Loaded on demand, like the root's commands (its code: cron-serve.ts).
  serve: lazy(() => import("./cron-serve.ts").then((m) => m.serve)),
});
