/** Checks of scheduled jobs: schedules, time zones, actions, ids and delivery targets. */
import type { ResolvedPlatform } from "../../config/platforms.ts";
import { isValidTimeZone, parseSchedule } from "../../cron/schedule.ts";
import { PLATFORM_NAMES } from "../../platforms/registry.ts";
import { at, defineRule, type Finding, type RuleContext } from "../rule.ts";
import { damerauLevenshtein, suggest } from "../suggest.ts";

function jobs(ctx: RuleContext) {
  return ctx.load.config.cron.jobs.map((job, index) => ({ job, path: ["cron", "jobs", index] as const }));
}

export const invalidCron = defineRule({
  id: "invalid-cron",
  check(ctx) {
    const findings: Finding[] = [];
    for (const { job, path } of jobs(ctx)) {
      // Whether an expression parses (or ever fires) does not depend on the zone, so none is loaded here.
      const parsed = parseSchedule(job.schedule);
      if (parsed.ok) continue;
      findings.push(
        at(
          ctx.load.locate([...path, "schedule"], "value"),
          `job "${job.id}": schedule "${job.schedule}" cannot be used: ${parsed.reason}`,
          {
            hint: 'examples: "0 3 * * *" (03:00 daily), "*/30 * * * * *" (every 30 s), "every 30m", "2026-12-24T09:00"',
          },
        ),
      );
    }
    return findings;
  },
});

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

export const timezoneInvalid = defineRule({
  id: "timezone-invalid",
  check(ctx) {
    const findings: Finding[] = [];
    for (const { job, path } of jobs(ctx)) {
      if (job.timezone === undefined || isValidTimeZone(job.timezone)) continue;
      const close = suggestZone(job.timezone);
      findings.push(
        at(
          ctx.load.locate([...path, "timezone"], "value"),
          `job "${job.id}": time zone "${job.timezone}" is not an IANA time zone name`,
          {
            hint: close
              ? `did you mean "${close}"?`
              : "use a name such as Europe/Berlin, America/New_York or UTC",
          },
        ),
      );
    }
    return findings;
  },
});

export const jobAction = defineRule({
  id: "job-action",
  check(ctx) {
    const findings: Finding[] = [];
    for (const { job, path } of jobs(ctx)) {
      const actions = (["prompt", "message", "command"] as const).filter((k) => job[k] !== undefined);
      const emptyCommand = Array.isArray(job.command) && job.command.length === 0;
      if (actions.length === 1 && !emptyCommand) continue;
      const message =
        actions.length === 0
          ? `job "${job.id}" has no action: give it a prompt, a message or a command`
          : emptyCommand
            ? `job "${job.id}": command is an empty list`
            : `job "${job.id}" has ${actions.length} actions (${actions.join(", ")}); a job does exactly one thing`;
      const hint =
        actions.length > 1
          ? "split it into one job per action"
          : 'add prompt: "…" (ask the agent), message: "…" (send as is) or command: […]';
      findings.push(at(ctx.load.locate(path, "key"), message, { hint }));
    }
    return findings;
  },
});

export const duplicateJobId = defineRule({
  id: "duplicate-key",
  check(ctx) {
    const findings: Finding[] = [];
    const seen = new Map<string, number>();
    for (const { job, path } of jobs(ctx)) {
      const first = seen.get(job.id);
      if (first === undefined) {
        seen.set(job.id, path[2]);
        continue;
      }
      findings.push(
        at(
          ctx.load.locate([...path, "id"], "value"),
          `job id "${job.id}" is used twice (cron.jobs[${first}] and cron.jobs[${path[2]}])`,
          {
            hint: "job ids name their run state; each must be unique",
          },
        ),
      );
    }
    return findings;
  },
});

/** Every `deliver`/`failure_deliver` target with its platform (when known). */
function targets(ctx: RuleContext) {
  const byName = new Map(ctx.load.platforms.map((p) => [p.manifest.name, p]));
  const out: {
    job: string;
    path: (string | number)[];
    target: string;
    name: string;
    chat?: string;
    platform?: ResolvedPlatform;
  }[] = [];
  for (const { job, path } of jobs(ctx)) {
    for (const key of ["deliver", "failure_deliver"] as const) {
      job[key].forEach((target, i) => {
        const colon = target.indexOf(":");
        const name = colon < 0 ? target : target.slice(0, colon);
        const chat = colon < 0 ? undefined : target.slice(colon + 1);
        out.push({ job: job.id, path: [...path, key, i], target, name, chat, platform: byName.get(name) });
      });
    }
  }
  return out;
}

export const targetUnknown = defineRule({
  id: "target-unknown",
  check(ctx) {
    const findings: Finding[] = [];
    for (const t of targets(ctx)) {
      const where = ctx.load.locate(t.path, "value");
      if (!t.platform) {
        const close = suggest(t.name, PLATFORM_NAMES);
        findings.push(
          at(where, `job "${t.job}": target "${t.target}" names no platform`, {
            hint: close ? `did you mean "${close}"?` : `platforms: ${PLATFORM_NAMES.join(", ")}`,
          }),
        );
      } else if (t.chat === "") {
        findings.push(
          at(where, `job "${t.job}": target "${t.target}" has an empty chat id`, {
            hint: `write ${t.name}:<chat id>`,
          }),
        );
      } else if (t.chat === undefined && t.platform.enabled && !t.platform.homeChannel.value) {
        const prefix = t.platform.manifest.envPrefix;
        findings.push(
          at(where, `job "${t.job}": target "${t.target}" names no chat and ${t.name} has no home_channel`, {
            hint: `write ${t.name}:<chat id>, or set platforms.${t.name}.home_channel (or ${prefix}_HOME_CHANNEL)`,
          }),
        );
      }
    }
    return findings;
  },
});

export const targetDisabled = defineRule({
  id: "target-disabled",
  check(ctx) {
    return targets(ctx)
      .filter((t) => t.platform && !t.platform.enabled)
      .map((t) =>
        at(
          ctx.load.locate(t.path, "value"),
          `job "${t.job}": target "${t.target}" is on ${t.name}, which is not enabled`,
          {
            hint: `results for it wait in the outbox and expire; enable ${t.name} or remove the target`,
          },
        ),
      );
  },
});
