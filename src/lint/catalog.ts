/**
 * Every lint rule with its default severity and a one-line summary. Each has a page `lint/rules/<id>.md`
 * (printed by `--explain`, its examples run by the tests).
 */
import type { Severity } from "./diagnostic.ts";

/** The command whose rules these are: `hermes lint config` or `hermes lint service`. */
export type LintCommand = "config" | "service";

export interface RuleInfo {
  id: string;
  severity: Severity;
  summary: string;
  command: LintCommand;
  /** Found only by `--online` (asking the platform), never from the files alone. */
  online?: boolean;
}

const CONFIG_RULES: Omit<RuleInfo, "command">[] = [
  { id: "yaml-syntax", severity: "error", summary: "config.yaml is not valid YAML" },
  { id: "duplicate-key", severity: "error", summary: "a key, platform block or job id is defined twice" },
  { id: "unknown-key", severity: "error", summary: "a key hermes does not know (often a typo)" },
  { id: "unknown-platform", severity: "error", summary: "a platform name hermes does not know" },
  {
    id: "type-mismatch",
    severity: "error",
    summary: "a value of the wrong type, or a required key left out",
  },
  { id: "missing-token", severity: "error", summary: "an enabled platform without all of its credentials" },
  { id: "token-placeholder", severity: "error", summary: "a credential that is still a placeholder" },
  {
    id: "token-format",
    severity: "warning",
    summary: "a credential that does not have the shape of its kind",
  },
  { id: "token-wrong-platform", severity: "error", summary: "a credential that belongs to another platform" },
  {
    id: "token-whitespace",
    severity: "error",
    summary: "a credential with spaces, line breaks or quotes in it",
  },
  { id: "duplicate-token", severity: "error", summary: "the same credential used in two places" },
  { id: "upstream-key", severity: "warning", summary: "a key only upstream's Python gateway reads" },
  {
    id: "not-implemented",
    severity: "warning",
    summary: "an enabled platform whose adapter is not built yet",
  },
  { id: "env-unset", severity: "error", summary: "a referenced environment variable that is not set" },
  { id: "plaintext-secret", severity: "warning", summary: "a secret written literally in config.yaml" },
  {
    id: "file-permissions",
    severity: "warning",
    summary: "a file holding secrets that other users can read",
  },
  { id: "invalid-cron", severity: "error", summary: "a job schedule that cannot be parsed" },
  { id: "timezone-invalid", severity: "error", summary: "a time zone that is not an IANA name" },
  { id: "jobs-file-invalid", severity: "error", summary: "cron/jobs.json cannot be read" },
  { id: "target-unknown", severity: "error", summary: "a delivery target that names no platform or no chat" },
  {
    id: "target-disabled",
    severity: "warning",
    summary: "a delivery target on a platform that is not enabled",
  },
  { id: "port-conflict", severity: "error", summary: "two listeners on the same port" },
  { id: "bind-public", severity: "error", summary: "HTTP on a non-loopback address without an auth token" },
  {
    id: "allowlist-empty",
    severity: "warning",
    summary: "an enabled platform that nobody is allowed to use",
  },
  {
    id: "agent-echo",
    severity: "warning",
    summary: "chat platforms are enabled but the agent is the echo agent",
  },
  { id: "agent-config", severity: "error", summary: "the agent kind is chosen without its settings" },
  {
    id: "job-action",
    severity: "error",
    summary: "a job without exactly one action (prompt, message or command)",
  },
  { id: "yaml11-boolean", severity: "warning", summary: "yes/no/on/off written for a boolean" },
  { id: "env-syntax", severity: "warning", summary: "a .env line that is not a KEY=value assignment" },
  {
    id: "env-auto-enable",
    severity: "info",
    summary: "a platform enabled, or kept off, by its environment variables",
  },
  {
    id: "embedded-default",
    severity: "info",
    summary: "no config.yaml: the embedded default configuration applies",
  },
  {
    id: "token-rejected",
    severity: "error",
    summary: "--online: the platform refused the credentials (revoked, regenerated or mistyped)",
    online: true,
  },
  {
    id: "online-unreachable",
    severity: "warning",
    summary: "--online: the platform could not be asked whether the credentials are valid",
    online: true,
  },
];

const SERVICE_RULES: Omit<RuleInfo, "command">[] = [
  {
    id: "service-replace-flag",
    severity: "error",
    summary: "ExecStart= passes --replace, which fights systemd",
  },
  {
    id: "service-exit-75",
    severity: "error",
    summary: "exit 75 (a planned restart) is neither forced to restart nor a success",
  },
  {
    id: "service-restart-policy",
    severity: "error",
    summary: "a Restart= policy under which a planned restart, a clean exit or a crash leaves it dead",
  },
  {
    id: "service-exit-78",
    severity: "error",
    summary: "exit 78 (a configuration error) is not kept from restarting forever",
  },
  { id: "service-restart-sec", severity: "error", summary: "RestartSec= missing or under 2 s" },
  { id: "service-start-limit", severity: "error", summary: "a start limit that can give up for good" },
  {
    id: "service-stop-timeout",
    severity: "error",
    summary: "a stop timeout shorter than the gateway's drain deadline",
  },
  { id: "service-watchdog-type", severity: "error", summary: "WatchdogSec= without Type=notify" },
  { id: "service-unknown-key", severity: "warning", summary: "a key or line the installed systemd ignores" },
  {
    id: "service-exec-path",
    severity: "error",
    summary: "ExecStart= missing, relative, or naming no executable",
  },
];

const RULES: RuleInfo[] = [
  ...CONFIG_RULES.map((r) => ({ ...r, command: "config" as const })),
  ...SERVICE_RULES.map((r) => ({ ...r, command: "service" as const })),
];

export const RULE_IDS: readonly string[] = RULES.map((r) => r.id);
const BY_ID = new Map(RULES.map((r) => [r.id, r]));

export function ruleInfo(id: string): RuleInfo {
  const found = BY_ID.get(id);
  if (!found) throw new Error(`unknown lint rule ${id}`);
  return found;
}

/** Every rule, or those of one command. */
export function allRules(command?: LintCommand): readonly RuleInfo[] {
  return command ? RULES.filter((r) => r.command === command) : RULES;
}
