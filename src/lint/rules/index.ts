import type { Rule } from "../rule.ts";
import {
  duplicateToken,
  missingToken,
  tokenFormat,
  tokenPlaceholder,
  tokenWhitespace,
  tokenWrongPlatform,
} from "./credentials.ts";
import {
  duplicateJobId,
  invalidCron,
  jobAction,
  jobsFileInvalid,
  targetDisabled,
  targetUnknown,
  timezoneInvalid,
} from "./cron.ts";
import { envAutoEnable, envUnset, plaintextSecret } from "./environment.ts";
import { filePermissions } from "./files.ts";
import { bindPublic, portConflict } from "./network.ts";
import { agentConfig, agentEcho, allowlistEmpty, notImplemented, webhookUrlMissing } from "./platforms.ts";

/** The checks that run on a loaded configuration (the loader reports syntax, keys and types itself). */
export const CHECKS: readonly Rule[] = [
  webhookUrlMissing,
  missingToken,
  tokenPlaceholder,
  tokenWhitespace,
  tokenWrongPlatform,
  tokenFormat,
  duplicateToken,
  envUnset,
  envAutoEnable,
  plaintextSecret,
  invalidCron,
  timezoneInvalid,
  jobAction,
  duplicateJobId,
  targetUnknown,
  targetDisabled,
  portConflict,
  bindPublic,
  notImplemented,
  allowlistEmpty,
  agentEcho,
  agentConfig,
];

/** Checks that still make sense when the config file does not parse. */
export const FILE_CHECKS: readonly Rule[] = [filePermissions, jobsFileInvalid];
