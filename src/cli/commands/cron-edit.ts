/**
 * `hermes cron add|rm|pause|resume`: the only commands that write, and only `cron/jobs.json` (config.yaml is the
 * user's to edit). A job is checked by the lint rules before it is written; nothing is written when it fails.
 */
import { parseArgs } from "node:util";
import type { ArgsDef } from "citty";
import * as v from "valibot";
import { formatDuration } from "../../config/duration.ts";
import { job as jobSchema } from "../../config/schema.ts";
import { askScheduler } from "../../cron/client.ts";
import { updateJobsFile } from "../../cron/edit.ts";
import { cronPaths, jobForFile } from "../../cron/files.ts";
import { findJob, readHomeJobs, unknownJobMessage } from "../../cron/sources.ts";
import type { JobConfig } from "../../cron/types.ts";
import { nextRuns, previewRuns } from "../../cron/view.ts";
import { localZone } from "../../cron/zone.ts";
import { ruleInfo } from "../../lint/catalog.ts";
import { jobProblems } from "../../lint/rules/cron.ts";
import { command } from "../define.ts";
import { resolveHome } from "../globals.ts";
import { colors, err, out } from "../output.ts";
import { id, jobsFileProblems, json, loud, noSchedulerWarning, printJson } from "./cron-jobs.ts";

const addArgs = {
  job_id: { type: "positional", required: false, description: "job id (or --id)" },
  id: { type: "string", description: "job id: letters, digits, '.', '_' or '-'", valueHint: "id" },
  schedule: {
    type: "string",
    description: 'cron expression (5 fields, or 6 with seconds first), "every 30m", or an ISO time for once',
    valueHint: "schedule",
  },
  timezone: { type: "string", description: "IANA time zone (default: the machine's)", valueHint: "zone" },
  message: { type: "string", description: "action: send this text as is", valueHint: "text" },
  prompt: { type: "string", description: "action: ask the agent this", valueHint: "text" },
  command: {
    type: "string",
    description: "action: run this shell command line (with --arg: this program, without a shell)",
    valueHint: "cmd",
  },
  arg: {
    type: "string",
    description:
      "an argument of the --command program; repeat it (write --arg=-x for one that starts with -)",
    valueHint: "arg",
  },
  deliver: {
    type: "string",
    description: "where results go: platform (its home_channel) or platform:chat_id; repeat it or use commas",
    valueHint: "target",
  },
  "failure-deliver": {
    type: "string",
    description: "where errors and undeliverable results go; repeat it or use commas",
    valueHint: "target",
  },
  catchup: { type: "string", description: "runs missed while no scheduler ran: skip, once (default) or all" },
  timeout: {
    type: "string",
    description: "kill the action after this long (default 10m)",
    valueHint: "duration",
  },
  disabled: { type: "boolean", description: "add it paused (hermes cron resume starts it)" },
  ...json,
} as const satisfies ArgsDef;

/** The values of options that may be given several times (citty keeps only the last). */
function repeated(rawArgs: string[], names: string[]): Record<string, string[]> {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {};
  for (const [name, def] of Object.entries(addArgs))
    if (def.type === "string" || def.type === "boolean") options[name] = { type: def.type };
  for (const name of names) options[name] = { type: "string", multiple: true };
  const { values } = parseArgs({ args: rawArgs, options, strict: false, allowPositionals: true });
  return Object.fromEntries(
    names.map((n) => [n, ((values[n] as string[] | undefined) ?? []).filter(Boolean)]),
  );
}

const FLAG_OF: Record<string, string> = { failure_deliver: "--failure-deliver" };

export const add = command({
  name: "cron add",
  description: "Add a job to cron/jobs.json (checked like hermes lint config; refused if it would not run)",
  args: addArgs,
  async run(args, { rawArgs }) {
    const home = resolveHome(args.home as string | undefined);
    const jobId = (args.id ?? args.job_id) as string | undefined;
    if (args.id !== undefined && args.job_id !== undefined && args.id !== args.job_id) {
      err(`Give the job id once: "${String(args.job_id)}" or --id "${String(args.id)}".`);
      return 2;
    }
    if (!jobId) {
      err('hermes cron add needs a job id: hermes cron add ID --schedule "0 3 * * *" --message "…"');
      return 2;
    }
    if (args.schedule === undefined) {
      err(`hermes cron add needs --schedule: a cron expression, "every 30m", or an ISO time.`);
      return 2;
    }
    const many = repeated(rawArgs, ["deliver", "failure-deliver", "arg"]);
    if (many.arg!.length > 0 && args.command === undefined) {
      err("--arg gives arguments to --command; add --command PROGRAM.");
      return 2;
    }
    const split = (values: string[]) =>
      values
        .flatMap((x) => x.split(","))
        .map((x) => x.trim())
        .filter(Boolean);
    const input: Record<string, unknown> = {
      id: jobId,
      schedule: args.schedule,
      ...(args.timezone === undefined ? {} : { timezone: args.timezone }),
      ...(args.message === undefined ? {} : { message: args.message }),
      ...(args.prompt === undefined ? {} : { prompt: args.prompt }),
      ...(args.command === undefined
        ? {}
        : { command: many.arg!.length > 0 ? [args.command, ...many.arg!] : args.command }),
      deliver: split(many.deliver!),
      failure_deliver: split(many["failure-deliver"]!),
      ...(args.catchup === undefined ? {} : { catchup: args.catchup }),
      ...(args.timeout === undefined ? {} : { timeout: args.timeout }),
      enabled: args.disabled !== true,
    };
    const parsed = v.safeParse(jobSchema, input);
    if (!parsed.success) {
      const issue = parsed.issues[0];
      const key = String(issue.path?.[0]?.key ?? "");
      const given = issue.path?.length === 1 ? ` "${String(input[key])}"` : "";
      err(
        `${FLAG_OF[key] ?? (key === "id" ? "The job id" : `--${key}`)}${given} is not valid: expected ${issue.message}.`,
      );
      return 2;
    }
    const job = parsed.output;
    if (job.command === "") {
      err("--command needs a command line.");
      return 2;
    }

    const jobs = readHomeJobs(home, process.env);
    if (!jobs.load || jobs.load.fatal) {
      err(`${jobs.configProblem}; hermes cron add checks ids and targets against it, so fix it first.`);
      return 2;
    }
    const problems = jobProblems(job, "cli", jobs.load.platforms);
    const errors = problems.filter((p) => ruleInfo(p.rule).severity === "error");
    const c = colors(process.stderr);
    for (const p of problems) {
      const severity = ruleInfo(p.rule).severity;
      err(`${severity === "error" ? c.red("error") : c.yellow(severity)} [${p.rule}] ${p.message}`);
      if (p.hint) err(`  hint: ${p.hint}`);
    }
    if (errors.length > 0) {
      err(
        `Not added: the job has ${errors.length} error${errors.length === 1 ? "" : "s"}; nothing was written.`,
      );
      return 1;
    }
    const now = new Date();
    const runs = nextRuns(job, now, 3);
    if (runs.ok && runs.runs.length === 0) {
      err(`Not added: "${job.schedule}" has passed, so the job would never run; nothing was written.`);
      return 1;
    }
    const inConfig = jobs.config.find((j) => j.job.id === job.id);
    if (inConfig) {
      const where = inConfig.locate([], "key");
      err(
        `Not added: job id "${job.id}" is taken by ${inConfig.label} in ${where.file}${where.line ? ` line ${where.line}` : ""}; choose another id.`,
      );
      return 1;
    }
    const written = await updateJobsFile(home, (list) =>
      list.some((j) => j.id === job.id) ? { result: false } : { jobs: [...list, job], result: true },
    );
    if (!written.ok) {
      err(`Not added: ${written.message}.`);
      return 1;
    }
    if (!written.result) {
      err(
        `Not added: job id "${job.id}" is taken by a job in ${cronPaths(home).jobs}; choose another id, or hermes cron rm ${job.id} first.`,
      );
      return 1;
    }

    const upcoming = runs.ok ? runs.runs : [];
    if (args.json) printJson({ job: jobForFile(job), next_runs: upcoming.map((d) => d.toISOString()) });
    else out(describeJob(job, cronPaths(home).jobs, now));
    // Jobs a scheduler moved aside do not run, whatever is added.
    for (const problem of jobsFileProblems(home)) err(loud(problem));
    const { live } = await askScheduler(home);
    if (!live) err(noSchedulerWarning(home));
    return 0;
  },
});

function describeJob(job: JobConfig, file: string, now: Date): string {
  const action =
    job.message !== undefined
      ? ["message", job.message]
      : job.prompt !== undefined
        ? ["prompt", job.prompt]
        : ["command", Array.isArray(job.command) ? JSON.stringify(job.command) : String(job.command)];
  const zone = job.timezone ?? `${localZone()} (the machine's zone)`;
  const lines = [
    `added ${job.id} to ${file}${job.enabled ? "" : " (paused)"}`,
    `  schedule  ${job.schedule}`,
    `  timezone  ${zone}`,
    `  ${action[0]!.padEnd(8)}  ${action[1]}`,
    `  deliver   ${job.deliver.length > 0 ? job.deliver.join(", ") : "-"}`,
    ...(job.failure_deliver.length > 0 ? [`  failures  ${job.failure_deliver.join(", ")}`] : []),
    `  catchup   ${job.catchup}, timeout ${formatDuration(job.timeout)}`,
    `  ${previewRuns(job, now)}`,
  ];
  return `${lines.join("\n")}\n`;
}

type Change = "rm" | "pause" | "resume";

const CONFIG_ADVICE: Record<Change, string> = {
  rm: "delete it there",
  pause: "set enabled: false there",
  resume: "set enabled: true there",
};

/** rm, pause and resume: jobs of `cron/jobs.json` only; a job of config.yaml is edited in config.yaml. */
async function changeJob(home: string, jobId: string, change: Change): Promise<number> {
  const jobs = readHomeJobs(home, process.env);
  const inFile = jobs.cli.ok && jobs.cli.jobs.some((j) => j.job.id === jobId);
  const inConfig = jobs.config.find((j) => j.job.id === jobId);
  if (!inFile && inConfig) {
    const where = inConfig.locate([], "key");
    err(
      `Job "${jobId}" is defined in ${where.file}${where.line ? ` line ${where.line}` : ""} (${inConfig.label}); hermes cron ${change} changes only jobs added with hermes cron add: ${CONFIG_ADVICE[change]}.`,
    );
    return 1;
  }
  const result = await updateJobsFile(home, (list) => {
    const index = list.findIndex((j) => j.id === jobId);
    if (index < 0) return { result: "missing" as const };
    const job = list[index]!;
    if (change === "rm") return { jobs: list.filter((_, i) => i !== index), result: "done" as const };
    const enabled = change === "resume";
    if (job.enabled === enabled) return { result: "unchanged" as const };
    return { jobs: list.map((j, i) => (i === index ? { ...j, enabled } : j)), result: "done" as const };
  });
  if (!result.ok) {
    err(`${result.message}.`);
    return 1;
  }
  if (result.result === "missing") {
    const lookup = findJob(jobs, jobId);
    err(unknownJobMessage(jobs, jobId, lookup.found ? undefined : lookup.close));
    return 1;
  }
  const file = cronPaths(home).jobs;
  if (change === "rm") out(`removed ${jobId} from ${file}\n`);
  else if (result.result === "unchanged")
    out(`${jobId} is already ${change === "pause" ? "paused" : "running on schedule"}\n`);
  else if (change === "pause") out(`paused ${jobId}: it does not run until hermes cron resume ${jobId}\n`);
  else {
    const job = jobs.cli.ok ? jobs.cli.jobs.find((j) => j.job.id === jobId)?.job : undefined;
    out(`resumed ${jobId}${job ? `: ${previewRuns({ ...job, enabled: true }, new Date(), 1)}` : ""}\n`);
  }
  return 0;
}

export const rm = command({
  name: "cron rm",
  description: "Remove a job added with hermes cron add",
  args: id,
  run: (args) => changeJob(resolveHome(args.home as string | undefined), String(args.id), "rm"),
});

export const pause = command({
  name: "cron pause",
  description: "Pause a job added with hermes cron add (it keeps its state)",
  args: id,
  run: (args) => changeJob(resolveHome(args.home as string | undefined), String(args.id), "pause"),
});

export const resume = command({
  name: "cron resume",
  description: "Resume a paused job",
  args: id,
  run: (args) => changeJob(resolveHome(args.home as string | undefined), String(args.id), "resume"),
});
