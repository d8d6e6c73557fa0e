/** Arguments every subcommand takes, and the home directory they resolve to. */
import { homedir } from "node:os";
import { resolve } from "node:path";
import type { ArgsDef } from "citty";
import { UsageError } from "../errors.ts";

export const globalArgs = {
  home: {
    type: "string",
    description: "hermes home directory (default: $HERMES_HOME, else ~/.hermes)",
    valueHint: "dir",
  },
  "log-level": {
    type: "string",
    description: "debug, info, warn, error or silent",
    valueHint: "level",
  },
} as const satisfies ArgsDef;

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function resolveHome(flag: string | undefined): string {
  if (flag !== undefined && flag !== "") return resolve(flag);
  const fromEnv = process.env.HERMES_HOME;
  if (fromEnv) return resolve(fromEnv);
  return resolve(homedir(), ".hermes");
}

export function resolveLogLevel(flag: string | undefined): LogLevel {
  const value = flag ?? process.env.HERMES_LOG_LEVEL ?? "info";
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}, not "${value}"`);
  }
  return value as LogLevel;
}
