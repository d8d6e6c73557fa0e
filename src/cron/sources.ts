/**
 * The jobs of a home as the `hermes cron` commands see them: `cron.jobs` of config.yaml, then the jobs of
 * `cron/jobs.json`. A source that cannot be read is reported, never guessed at; the other still counts.
 */
import { InputError, type LoadResult, loadConfig, unusableConfigMessage } from "../config/load.ts";
import { type CliJobs, configJobs, type JobAt, readCliJobs } from "../lint/rules/cron.ts";
import { suggest } from "../lint/suggest.ts";
import type { Job } from "./types.ts";

export interface HomeJobs {
  /** The loaded configuration; undefined when config.yaml cannot be read at all. */
  load: LoadResult | undefined;
  /** Why the jobs of config.yaml are not known (unreadable, or not valid YAML). */
  configProblem: string | undefined;
  config: JobAt[];
  cli: CliJobs;
  /** Every job, config.yaml's first. */
  all: JobAt[];
}

export function readHomeJobs(
  home: string,
  env: Record<string, string | undefined>,
  options: { configFile?: string; envFile?: string } = {},
): HomeJobs {
  let load: LoadResult | undefined;
  let configProblem: string | undefined;
  try {
    load = loadConfig({ home, env, ...options });
    if (load.fatal) configProblem = unusableConfigMessage(load);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    configProblem = error.message;
  }
  const config = load && !load.fatal ? configJobs(load) : [];
  const cli = readCliJobs(home);
  return { load, configProblem, config, cli, all: [...config, ...(cli.ok ? cli.jobs : [])] };
}

export function withSource(j: JobAt): Job {
  return { ...j.job, source: j.source };
}

/** The job with this id (config.yaml's first, as the scheduler would), or the closest id for "did you mean". */
export function findJob(jobs: HomeJobs, id: string): { found: JobAt } | { found: undefined; close?: string } {
  const found = jobs.all.find((j) => j.job.id === id);
  if (found) return { found };
  return {
    found: undefined,
    close: suggest(
      id,
      jobs.all.map((j) => j.job.id),
    ),
  };
}

/** `no job "x"; did you mean "y"?` plus what may be hiding it. */
export function unknownJobMessage(jobs: HomeJobs, id: string, close: string | undefined): string {
  const hidden = [
    jobs.configProblem ? "config.yaml cannot be read" : undefined,
    jobs.cli.ok ? undefined : "cron/jobs.json cannot be read",
  ].filter(Boolean);
  const known = jobs.all.map((j) => j.job.id);
  return `There is no job "${id}"${close ? `; did you mean "${close}"?` : ""}${
    known.length > 0 && !close
      ? ` Jobs: ${known.join(", ")}.`
      : known.length === 0
        ? " There are no jobs."
        : ""
  }${hidden.length > 0 ? ` (${hidden.join(" and ")}, so its jobs are not known)` : ""}`;
}
