/**
 * Checks of scheduled jobs, from `cron.jobs` in config.yaml and from `cron/jobs.json` (what `hermes cron add`
 * writes): schedules, time zones, actions, ids and delivery targets, and a jobs file that cannot be read.
 * The per-job checks are exported so that `hermes cron add` refuses exactly what the linter reports.
 */
import { readFileSync } from "node:fs";
import type { LoadResult, Location } from "../../config/load.ts";
import { dotPath, type Path } from "../../config/path.ts";
import type { ResolvedPlatform } from "../../config/platforms.ts";
import { locate, parseYaml, type YamlSource } from "../../config/yaml-source.ts";
import { cronPaths, readJobsFile } from "../../cron/files.ts";
import { isValidTimeZone, parseSchedule } from "../../cron/schedule.ts";
import type { JobConfig, JobSource } from "../../cron/types.ts";
import { PLATFORM_NAMES } from "../../platforms/registry.ts";
import { at, defineRule, type Finding, type RuleContext } from "../rule.ts";
import { damerauLevenshtein, suggest } from "../suggest.ts";

/** A job as the rules see it, wherever it is defined. */
export interface JobAt {
  job: JobConfig;
  source: JobSource;
  /** Where in its file: `cron.jobs[2]`, or `jobs[2] in cron/jobs.json`. */
  label: string;
  /** Where one of its keys (or the job itself, with no keys) is. */
  locate(keys: Path, target: "key" | "value"): Location;
}

/** `cron/jobs.json` as the rules read it: its jobs, or why it cannot be read. */
export type CliJobs = { ok: true; jobs: JobAt[] } | { ok: false; location: Location; message: string };

const cliJobsRead = new WeakMap<LoadResult, CliJobs>();

/** The jobs of `cron/jobs.json` (read once per loaded configuration; never moved aside by the linter). */
export function cliJobs(load: LoadResult): CliJobs {
  let read = cliJobsRead.get(load);
  if (!read) {
    read = readCliJobs(load.home);
    cliJobsRead.set(load, read);
  }
  return read;
}

/** Reads `cron/jobs.json` of a home for the rules and the `hermes cron` commands (never moving it aside). */
export function readCliJobs(home: string): CliJobs {
  const result = readJobsFile(home, { keepAside: false });
  if (!result.ok) {
    const source = textOf(result.path);
    // The problem names the entry at fault (`jobs[2].catchup: …`) when the file is JSON but not a jobs file.
    const entry = /: jobs\[(\d+)\](?:\.([\w.]+))?: /.exec(result.message);
    const path = entry ? ["jobs", Number(entry[1]), ...(entry[2]?.split(".") ?? [])] : undefined;
    const position =
      source && path ? locate(source, path, "key") : (source?.problems[0]?.position ?? undefined);
    return {
      ok: false,
      message: result.message,
      location: {
        file: result.path,
        path: path ? dotPath(path) : null,
        line: position?.line ?? null,
        column: position?.column ?? null,
      },
    };
  }
  if (result.jobs.length === 0) return { ok: true, jobs: [] };
  const file = cronPaths(home).jobs;
  const source = textOf(file);
  return {
    ok: true,
    jobs: result.jobs.map((job, index) => ({
      job,
      source: "cli",
      label: `jobs[${index}] in cron/jobs.json`,
      locate(keys, target) {
        const path = ["jobs", index, ...keys];
        const pos = source ? locate(source, path, target) : undefined;
        return { file, path: dotPath(path), line: pos?.line ?? null, column: pos?.column ?? null };
      },
    })),
  };
}

/** JSON is YAML: the YAML parser gives the positions JSON.parse does not. */
function textOf(path: string): YamlSource | undefined {
  try {
    return parseYaml(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}

export function configJobs(load: LoadResult): JobAt[] {
  return load.config.cron.jobs.map((job, index) => ({
    job,
    source: "config",
    label: `cron.jobs[${index}]`,
    locate: (keys, target) => load.locate(["cron", "jobs", index, ...keys], target),
  }));
}

/** Every job the scheduler would see: config.yaml's, then cron/jobs.json's. */
export function allJobs(load: LoadResult): JobAt[] {
  const cli = cliJobs(load);
  return [...configJobs(load), ...(cli.ok ? cli.jobs : [])];
}

/** How messages name a job: its id, and the file when it is not config.yaml. */
function nameOf(job: JobConfig, source: JobSource): string {
  return source === "cli" ? `job "${job.id}" (cron/jobs.json)` : `job "${job.id}"`;
}

/** One problem with one job: the message, and which key of the job it is about. */
export interface JobProblem {
  rule: string;
  message: string;
  hint?: string;
  keys: Path;
  target: "key" | "value";
}

type JobCheck = (job: JobConfig, name: string, platforms: readonly ResolvedPlatform[]) => JobProblem[];

const checkSchedule: JobCheck = (job, name) => {
  // Whether an expression parses (or ever fires) does not depend on the zone, so none is loaded here.
  const parsed = parseSchedule(job.schedule);
  if (parsed.ok) return [];
  return [
    {
      rule: "invalid-cron",
      keys: ["schedule"],
      target: "value",
      message: `${name}: schedule "${job.schedule}" cannot be used: ${parsed.reason}`,
      hint: 'examples: "0 3 * * *" (03:00 daily), "*/30 * * * * *" (every 30 s), "every 30m", "2026-12-24T09:00"',
    },
  ];
};

let zoneNames: string[] | undefined;

/** Names people write that are not IANA zones, with the zone they mean. */
const ZONE_MISTAKES: Record<string, string> = {
  "Asia/Beijing": "Asia/Shanghai",
  Beijing: "Asia/Shanghai",
  China: "Asia/Shanghai",
  "Europe/Frankfurt": "Europe/Berlin",
  "America/San_Francisco": "America/Los_Angeles",
  "America/Seattle": "America/Los_Angeles",
  "America/Washington": "America/New_York",
  "America/Boston": "America/New_York",
  "Asia/Mumbai": "Asia/Kolkata",
  "Asia/Delhi": "Asia/Kolkata",
  "Australia/Canberra": "Australia/Sydney",
};

function suggestZone(zone: string): string | undefined {
  const known = ZONE_MISTAKES[zone];
  if (known) return known;
  zoneNames ??= Intl.supportedValuesOf("timeZone");
  const close = suggest(zone, zoneNames);
  // A zone two edits away is a typo; further away it is another city, which would be a wrong suggestion.
  return close && damerauLevenshtein(zone.toLowerCase(), close.toLowerCase()) <= 2 ? close : undefined;
}

const checkTimezone: JobCheck = (job, name) => {
  if (job.timezone === undefined || isValidTimeZone(job.timezone)) return [];
  const close = suggestZone(job.timezone);
  return [
    {
      rule: "timezone-invalid",
      keys: ["timezone"],
      target: "value",
      message: `${name}: time zone "${job.timezone}" is not an IANA time zone name`,
      hint: close ? `did you mean "${close}"?` : "use a name such as Europe/Berlin, America/New_York or UTC",
    },
  ];
};

const checkAction: JobCheck = (job, name) => {
  const actions = (["prompt", "message", "command"] as const).filter((k) => job[k] !== undefined);
  const emptyCommand = Array.isArray(job.command) && job.command.length === 0;
  if (actions.length === 1 && !emptyCommand) return [];
  const message =
    actions.length === 0
      ? `${name} has no action: give it a prompt, a message or a command`
      : emptyCommand
        ? `${name}: command is an empty list`
        : `${name} has ${actions.length} actions (${actions.join(", ")}); a job does exactly one thing`;
  const hint =
    actions.length > 1
      ? "split it into one job per action"
      : 'add prompt: "…" (ask the agent), message: "…" (send as is) or command: […]';
  return [{ rule: "job-action", keys: [], target: "key", message, hint }];
};

/** Every `deliver`/`failure_deliver` target of a job, with its platform (when known). */
function targetsOf(job: JobConfig, platforms: readonly ResolvedPlatform[]) {
  const byName = new Map(platforms.map((p) => [p.manifest.name, p]));
  return (["deliver", "failure_deliver"] as const).flatMap((key) =>
    job[key].map((target, i) => {
      const colon = target.indexOf(":");
      const name = colon < 0 ? target : target.slice(0, colon);
      const chat = colon < 0 ? undefined : target.slice(colon + 1);
      return { keys: [key, i], target, name, chat, platform: byName.get(name) };
    }),
  );
}

const checkTargetsKnown: JobCheck = (job, name, platforms) => {
  const problems: JobProblem[] = [];
  for (const t of targetsOf(job, platforms)) {
    const where = { rule: "target-unknown", keys: t.keys, target: "value" as const };
    if (!t.platform) {
      const close = suggest(t.name, PLATFORM_NAMES);
      problems.push({
        ...where,
        message: `${name}: target "${t.target}" names no platform`,
        hint: close ? `did you mean "${close}"?` : `platforms: ${PLATFORM_NAMES.join(", ")}`,
      });
    } else if (t.chat === "") {
      problems.push({
        ...where,
        message: `${name}: target "${t.target}" has an empty chat id`,
        hint: `write ${t.name}:<chat id>`,
      });
    } else if (t.chat === undefined && t.platform.enabled && !t.platform.homeChannel.value) {
      const prefix = t.platform.manifest.envPrefix;
      problems.push({
        ...where,
        message: `${name}: target "${t.target}" names no chat and ${t.name} has no home_channel`,
        hint: `write ${t.name}:<chat id>, or set platforms.${t.name}.home_channel (or ${prefix}_HOME_CHANNEL)`,
      });
    }
  }
  return problems;
};

const checkTargetsEnabled: JobCheck = (job, name, platforms) =>
  targetsOf(job, platforms)
    .filter((t) => t.platform && !t.platform.enabled)
    .map((t) => ({
      rule: "target-disabled",
      keys: t.keys,
      target: "value",
      message: `${name}: target "${t.target}" is on ${t.name}, which is not enabled`,
      hint: `results for it wait in the outbox and expire; enable ${t.name} or remove the target`,
    }));

const JOB_CHECKS = [checkSchedule, checkTimezone, checkAction, checkTargetsKnown, checkTargetsEnabled];

/** Every problem of one job, as `lint config` reports it (for `hermes cron add`, before it writes). */
export function jobProblems(
  job: JobConfig,
  source: JobSource,
  platforms: readonly ResolvedPlatform[],
): JobProblem[] {
  return JOB_CHECKS.flatMap((check) => check(job, nameOf(job, source), platforms));
}

/** A rule that applies one per-job check to every job of both sources. */
function perJobRule(id: string, check: JobCheck) {
  return defineRule({
    id,
    check(ctx: RuleContext): Finding[] {
      return allJobs(ctx.load).flatMap((j) =>
        check(j.job, nameOf(j.job, j.source), ctx.load.platforms).map((p) =>
          at(j.locate(p.keys, p.target), p.message, p.hint === undefined ? {} : { hint: p.hint }),
        ),
      );
    },
  });
}

export const invalidCron = perJobRule("invalid-cron", checkSchedule);
export const timezoneInvalid = perJobRule("timezone-invalid", checkTimezone);
export const jobAction = perJobRule("job-action", checkAction);
export const targetUnknown = perJobRule("target-unknown", checkTargetsKnown);
export const targetDisabled = perJobRule("target-disabled", checkTargetsEnabled);

export const duplicateJobId = defineRule({
  id: "duplicate-key",
  check(ctx) {
    const findings: Finding[] = [];
    const seen = new Map<string, JobAt>();
    for (const j of allJobs(ctx.load)) {
      const first = seen.get(j.job.id);
      if (first === undefined) {
        seen.set(j.job.id, j);
        continue;
      }
      findings.push(
        at(j.locate(["id"], "value"), `job id "${j.job.id}" is used twice (${first.label} and ${j.label})`, {
          hint:
            first.source === j.source
              ? "job ids name their run state; each must be unique"
              : "job ids name their run state; each must be unique across config.yaml and cron/jobs.json (hermes cron rm removes the one in cron/jobs.json)",
        }),
      );
    }
    return findings;
  },
});

/** A `cron/jobs.json` that cannot be read: the scheduler moves it aside, and its jobs do not run. */
export const jobsFileInvalid = defineRule({
  id: "jobs-file-invalid",
  check(ctx) {
    const read = cliJobs(ctx.load);
    if (read.ok) return [];
    return [
      // The location names the file in full; the message need not repeat it.
      at(read.location, read.message.replace(read.location.file ?? "", "cron/jobs.json"), {
        hint: "fix it where shown, or remove it; a scheduler that finds it so moves it aside to jobs.json.corrupt-<time> and runs none of its jobs",
      }),
    ];
  },
});
