/**
 * The configuration schema: the single source of truth for the linter, the gateway, the unit generator
 * and the published JSON Schema. Every default lives here.
 */
import * as v from "valibot";
import { blockSchema } from "../platforms/manifest.ts";
import { PLATFORMS } from "../platforms/registry.ts";
import { bool, duration, int, listen, secret, targets, url } from "./fields.ts";

const http = v.strictObject({
  listen: v.optional(listen(), "127.0.0.1:8642"),
  auth_token: v.optional(secret(undefined, "HERMES_HTTP_TOKEN")),
});

const gateway = v.strictObject({
  http: v.optional(http, {}),
  drain_timeout: v.optional(duration(), "30s"),
  strict: v.optional(bool(), false),
  watchdog: v.optional(
    v.strictObject({
      interval: v.optional(duration(), "10s"),
      failure_threshold: v.optional(int(1, 100), 2),
    }),
    {},
  ),
  reconnect: v.optional(
    v.strictObject({
      initial: v.optional(duration(), "1s"),
      max: v.optional(duration(), "5m"),
    }),
    {},
  ),
  outbox_ttl: v.optional(duration(), "24h"),
});

const stringList = (expects: string) => v.array(v.string(expects), `a list of ${expects}s`);

const agent = v.strictObject({
  kind: v.optional(
    v.picklist(["echo", "command", "http", "openai"], "one of echo, command, http, openai"),
    "echo",
  ),
  command: v.optional(
    v.strictObject({
      argv: v.optional(stringList("argument")),
      shell: v.optional(v.string("a shell command line")),
      timeout: v.optional(duration(), "120s"),
    }),
  ),
  http: v.optional(
    v.strictObject({
      url: v.optional(url()),
      timeout: v.optional(duration(), "120s"),
      retries: v.optional(int(0, 10), 2),
      headers: v.optional(v.record(v.string(), secret(), "a mapping of header names to values")),
    }),
  ),
  openai: v.optional(
    v.strictObject({
      base_url: v.optional(url(), "https://api.openai.com/v1"),
      api_key: v.optional(secret("OPENAI_API_KEY")),
      model: v.optional(v.string("a model name")),
      system_prompt: v.optional(v.string("text")),
      history: v.optional(int(0, 1000), 20),
      timeout: v.optional(duration(), "120s"),
    }),
  ),
});

export const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const job = v.strictObject({
  id: v.pipe(
    v.string("a job id"),
    v.regex(JOB_ID, "a job id: letters, digits, '.', '_' or '-' (at most 64)"),
  ),
  schedule: v.string('a schedule such as "0 3 * * *", "every 30m" or an ISO time'),
  timezone: v.optional(v.string("an IANA time zone such as Europe/Berlin")),
  prompt: v.optional(v.string("text")),
  message: v.optional(v.string("text")),
  command: v.optional(
    v.union([v.string(), stringList("argument")], "a shell command line or a list of arguments"),
  ),
  deliver: v.optional(targets(), []),
  failure_deliver: v.optional(targets(), []),
  catchup: v.optional(v.picklist(["skip", "once", "all"], "one of skip, once, all"), "once"),
  timeout: v.optional(duration(), "10m"),
  enabled: v.optional(bool(), true),
});

const platformEntries: v.ObjectEntries = {};
for (const manifest of PLATFORMS) platformEntries[manifest.name] = v.optional(blockSchema(manifest));

export const platforms = v.strictObject(platformEntries);

export const configSchema = v.strictObject({
  gateway: v.optional(gateway, {}),
  agent: v.optional(agent, {}),
  platforms: v.optional(platforms, {}),
  cron: v.optional(v.strictObject({ jobs: v.optional(v.array(job, "a list of jobs"), []) }), {}),
});

/** The typed configuration. Platform blocks are typed by their common keys; each manifest adds its own. */
export type Config = Omit<v.InferOutput<typeof configSchema>, "platforms"> & {
  platforms: Record<string, PlatformBlock | undefined>;
};
export type Job = v.InferOutput<typeof job>;
export type PlatformBlock = Record<string, unknown> & {
  enabled?: boolean;
  allowed_users?: string[];
  allow_all?: boolean;
  admins?: string[];
  home_channel?: string;
  allowed_chats?: string[];
  require_mention: boolean;
  api_base?: string;
  listen?: string;
  mode?: string;
};
