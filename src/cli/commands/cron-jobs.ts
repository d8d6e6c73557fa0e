/**
 * `hermes cron list|status|run`: they ask the running scheduler when there is one (its control socket, SPEC §7)
 * and otherwise read the files themselves: config.yaml, `cron/jobs.json`, `cron/state.json` and the scheduler
 * lock. The commands that change `cron/jobs.json` are in cron-edit.ts.
 */
import { askScheduler, describeHolder, runThrough } from "../../cron/client.ts";
import { cronPaths, keptAsideJobsFiles, readStateFile } from "../../cron/files.ts";
import { readSchedulerLock } from "../../cron/lock.ts";
import { runHere } from "../../cron/run-here.ts";
import { findJob, readHomeJobs, unknownJobMessage, withSource } from "../../cron/sources.ts";
import type { ListEntry, LockHolder, RunResult } from "../../cron/types.ts";
import { entryOf, formatTable, pickEntry } from "../../cron/view.ts";
import { formatInZone, localZone } from "../../cron/zone.ts";
import { Redactor } from "../../lint/redact.ts";
import { type CliJobs, readCliJobs } from "../../lint/rules/cron.ts";
import { command } from "../define.ts";
import { resolveHome } from "../globals.ts";
import { colors, err, out } from "../output.ts";

export const json = { json: { type: "boolean", description: "print JSON" } } as const;
export const id = { id: { type: "positional", description: "job id" } } as const;

export const printJson = (value: unknown) => out(`${JSON.stringify(value, null, 2)}\n`);

/** Said loudly wherever it matters: with no scheduler, no job fires. */
export function noSchedulerWarning(home: string): string {
  const last = readSchedulerLock(home);
  const c = colors(process.stderr);
  const was = last && !last.alive ? ` (the last one was ${describeHolder(last.holder)}, which is gone)` : "";
  return c.bold(
    c.red(
      `No scheduler is running for ${home}${was}: no job fires. Start one: hermes gateway run, or hermes cron serve (or their services).`,
    ),
  );
}

export const list = command({
  name: "cron list",
  description: "List every job with its next run (in its time zone), last run, status, error and delivery",
  args: json,
  async run(args) {
    const home = resolveHome(args.home as string | undefined);
    const { live } = await askScheduler(home);
    if (live) {
      const entries = live.view.jobs.map(pickEntry);
      if (args.json) printJson({ jobs: entries });
      else out(entries.length > 0 ? formatTable(entries, colors(process.stdout), new Map()) : "No jobs.\n");
      const unreadable = jobsFileProblems(home, readCliJobs(home));
      for (const problem of unreadable) err(loud(problem));
      return unreadable.length > 0 ? 2 : 0;
    }

    const jobs = readHomeJobs(home, process.env);
    const state = readStateFile(home).jobs;
    const redactor = new Redactor(jobs.load?.secrets ?? []);
    const now = new Date();
    const invalid = new Map<string, string>();
    const entries: ListEntry[] = jobs.all.map((j) => {
      const { entry, problem } = entryOf(withSource(j), state[j.job.id], now);
      if (problem !== undefined) invalid.set(j.job.id, problem);
      return { ...entry, last_error: entry.last_error === null ? null : redactor.text(entry.last_error) };
    });
    if (args.json) printJson({ jobs: entries });
    else out(entries.length > 0 ? formatTable(entries, colors(process.stdout), invalid) : "No jobs.\n");

    for (const [jobId, problem] of invalid)
      err(`Job "${jobId}" cannot run: ${problem} (see hermes lint config).`);
    const unreadable = [
      ...(jobs.configProblem ? [`${jobs.configProblem}; its jobs are not shown.`] : []),
      ...jobsFileProblems(home, jobs.cli),
    ];
    for (const problem of unreadable) err(loud(problem));
    err(noSchedulerWarning(home));
    return unreadable.length > 0 ? 2 : 0;
  },
});

export const loud = (text: string) => colors(process.stderr).bold(colors(process.stderr).red(text));

/**
 * One sentence per jobs file whose jobs do not run: `cron/jobs.json` when it cannot be read now, and each copy a
 * scheduler moved aside because it could not read it (until the copy is fixed and moved back, or deleted).
 */
export function jobsFileProblems(home: string, cli?: CliJobs): string[] {
  const problems =
    !cli || cli.ok
      ? []
      : [`${cli.message}; its jobs are not shown and do not run (hermes lint config shows where).`];
  const { jobs } = cronPaths(home);
  for (const kept of keptAsideJobsFiles(home))
    problems.push(
      `${kept} holds jobs that do not run: a scheduler could not read ${jobs} and moved it there (never emptying it); fix it and move it back to ${jobs}, or delete it.`,
    );
  return problems;
}

export const status = command({
  name: "cron status",
  description: "Say which scheduler is alive and when it ticked (exit 0), or that none is (exit 3)",
  args: json,
  async run(args) {
    const home = resolveHome(args.home as string | undefined);
    const { live } = await askScheduler(home);
    const locked = readSchedulerLock(home);
    if (live) {
      const view = live.view;
      const holder = view.holder ?? locked?.holder ?? null;
      const next = earliest(view.jobs);
      if (args.json)
        printJson({
          alive: true,
          holder,
          last_tick_at: view.last_tick_at,
          jobs: view.jobs.length,
          next_run_at: next?.next_run_at ?? null,
        });
      else out(describeAlive(holder, view.last_tick_at, view.jobs, next));
      return 0;
    }

    // No scheduler answers: what the lock file and the job files say.
    const jobs = readHomeJobs(home, process.env);
    const state = readStateFile(home).jobs;
    const now = new Date();
    const entries = jobs.all.map((j) => entryOf(withSource(j), state[j.job.id], now).entry);
    const next = earliest(entries);
    const stuck = locked?.alive === true;
    if (args.json)
      printJson({
        alive: false,
        holder: locked?.holder ?? null,
        last_tick_at: null,
        jobs: entries.length,
        next_run_at: next?.next_run_at ?? null,
      });
    const c = colors(args.json ? process.stderr : process.stdout);
    const say = args.json ? err : (text: string) => out(`${text}\n`);
    if (stuck)
      say(
        c.bold(
          c.red(
            `Not answering: ${describeHolder(locked.holder)} holds the scheduler lock (${cronPaths(home).lock}) but answers on no control socket; its jobs may not fire. See its log, or restart it.`,
          ),
        ),
      );
    else
      say(
        c.bold(
          c.red(
            `Not running: no scheduler is alive for ${home}; ${entries.length === 1 ? "its 1 job does" : `its ${entries.length} jobs do`} not fire${next ? ` (the next would be ${next.id} at ${formatInZone(new Date(next.next_run_at!), next.timezone, { showZone: true })})` : ""}. Start hermes gateway run or hermes cron serve.`,
          ),
        ),
      );
    // LSB: 1 for a holder that lives but cannot be asked, 3 for no scheduler at all.
    return stuck ? 1 : 3;
  },
});

/** The enabled job that runs first. */
function earliest(entries: readonly ListEntry[]): ListEntry | undefined {
  return entries
    .filter((e) => e.enabled && e.next_run_at !== null)
    .sort((a, b) => Date.parse(a.next_run_at!) - Date.parse(b.next_run_at!))[0];
}

function ago(iso: string): string {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 120) return `${s.toFixed(1)} s ago`;
  if (s < 7200) return `${(s / 60).toFixed(0)} min ago`;
  return `${(s / 3600).toFixed(1)} h ago`;
}

function describeAlive(
  holder: LockHolder | null,
  lastTick: string | null,
  jobs: readonly ListEntry[],
  next: ListEntry | undefined,
): string {
  const zone = localZone();
  const since = holder?.since
    ? ` since ${formatInZone(new Date(holder.since), zone, { showZone: true })}`
    : "";
  const paused = jobs.filter((j) => !j.enabled).length;
  return [
    `alive: ${holder ? describeHolder(holder) : "a scheduler"} holds the scheduler lock${since}`,
    `last tick: ${lastTick ? `${formatInZone(new Date(lastTick), zone, { showZone: true })} (${ago(lastTick)})` : "none yet"}`,
    `jobs: ${jobs.length}${paused > 0 ? ` (${paused} paused)` : ""}`,
    `next run: ${next ? `${next.id} at ${formatInZone(new Date(next.next_run_at!), next.timezone, { showZone: true })}` : "none"}`,
    "",
  ].join("\n");
}

export const run = command({
  name: "cron run",
  description: "Run a job now and print its result (through the running scheduler when there is one)",
  args: { ...id, ...json },
  async run(args) {
    const home = resolveHome(args.home as string | undefined);
    const jobId = String(args.id);
    const jobs = readHomeJobs(home, process.env);
    const lookup = findJob(jobs, jobId);
    const { live } = await askScheduler(home);
    if (live) {
      let answer: { status: number; body: unknown };
      try {
        answer = await runThrough(live.socket, jobId, lookup.found?.job.timeout ?? 600_000);
      } catch (error) {
        err(
          `The scheduler on ${live.socket} did not answer (${(error as Error).message}); the job may have run: see hermes cron list.`,
        );
        return 1;
      }
      const body = answer.body as Partial<RunResult> & { error?: string };
      if (answer.status === 404) {
        err(
          lookup.found
            ? `The scheduler does not know job "${jobId}" (${lookup.found.label}) yet; it reads changed job files within moments, so try again (or see hermes cron list).`
            : unknownJobMessage(jobs, jobId, lookup.close),
        );
        return 1;
      }
      if (answer.status === 409) {
        err(`Job "${jobId}" is running right now and never overlaps itself; try again when it has ended.`);
        return 1;
      }
      if (answer.status !== 200 || typeof body.status !== "string") {
        err(`The scheduler refused to run "${jobId}": ${body.error ?? `HTTP ${answer.status}`}`);
        return answer.status === 503 ? 1 : 3;
      }
      const result = body as RunResult;
      printResult(result, args.json === true);
      if (result.delivery === "failed") err("Its delivery failed: see hermes outbox list --dead.");
      return result.status === "ok" ? 0 : 1;
    }

    if (!lookup.found) {
      err(unknownJobMessage(jobs, jobId, lookup.close));
      return 1;
    }
    const job = lookup.found.job;
    const ran = await runHere(job, jobs.load, home);
    // The error may quote the program's stderr; no configured secret is printed.
    const redactor = new Redactor(jobs.load?.secrets ?? []);
    const result = { ...ran, error: ran.error === null ? null : redactor.text(ran.error) };
    printResult(result, args.json === true);
    const targets = [...job.deliver];
    err(
      colors(process.stderr).yellow(
        targets.length > 0
          ? `Nothing was delivered to ${targets.join(", ")}: no scheduler is alive for ${home}, so the job ran here and its result is only printed.`
          : `No scheduler is alive for ${home}, so the job ran here (it has no deliver targets).`,
      ),
    );
    return result.status === "ok" ? 0 : 1;
  },
});

function printResult(result: RunResult, asJson: boolean): void {
  if (asJson) {
    printJson(result);
    return;
  }
  const seconds = (result.duration_ms / 1000).toFixed(2);
  const delivery = result.delivery === "none" ? "" : `; delivery: ${result.delivery}`;
  if (result.status === "ok") out(`job ${result.id}: ok in ${seconds} s${delivery}\n`);
  else
    err(
      `job ${result.id}: ${result.status} after ${seconds} s: ${result.error ?? "no reason given"}${delivery}`,
    );
  if (result.output !== "") out(result.output.endsWith("\n") ? result.output : `${result.output}\n`);
}
