import type { EnvValue } from "../config/env.ts";
import type { LoadResult, Location } from "../config/load.ts";
import type { Path } from "../config/path.ts";
import type { ResolvedCredential, ResolvedPlatform } from "../config/platforms.ts";
import type { Diagnostic, Severity } from "./diagnostic.ts";

export interface RuleContext {
  load: LoadResult;
  strict: boolean;
}

/** What a check reports; the rule id and (unless overridden) the severity come from the rule. */
export type Finding = Omit<Diagnostic, "rule" | "severity"> & { severity?: Severity };

export interface Rule {
  id: string;
  check(ctx: RuleContext): Finding[];
}

/** Identity helper for rule declarations. */
export function defineRule(rule: Rule): Rule {
  return rule;
}

/** Where an environment variable was set: its `.env` line, or the process environment (no file). */
export function envLocation(name: string, found: EnvValue | undefined): Location {
  if (found?.origin === "dotenv")
    return { file: found.file ?? null, path: name, line: found.line ?? null, column: 1 };
  return { file: null, path: name, line: null, column: null };
}

/** Where a credential's value comes from: its key in the config, or its variable. */
export function credentialLocation(
  ctx: RuleContext,
  platform: ResolvedPlatform,
  c: ResolvedCredential,
): Location {
  if (c.from === "config") return ctx.load.locate(["platforms", platform.manifest.name, c.spec.key], "value");
  return envLocation(c.spec.env, c.envValue);
}

/** `platforms.telegram.token` or `TELEGRAM_BOT_TOKEN`, whichever supplied the value. */
export function credentialName(platform: ResolvedPlatform, c: ResolvedCredential): string {
  return c.from === "config" ? `platforms.${platform.manifest.name}.${c.spec.key}` : c.spec.env;
}

/** Where a platform is declared: its block's key, or the variable that enabled it. */
export function platformLocation(ctx: RuleContext, platform: ResolvedPlatform): Location {
  if (platform.declared) return ctx.load.locate(["platforms", platform.manifest.name], "key");
  const first = platform.envSet[0];
  return first
    ? envLocation(first, ctx.load.env.get(first))
    : { file: null, path: null, line: null, column: null };
}

/**
 * The value at `path` came from a `${VAR}` that is unset (and has no default). env-unset reports that;
 * rules about the missing value stay quiet, so one mistake is one finding.
 */
export function hasUnsetReference(ctx: RuleContext, path: Path): boolean {
  return ctx.load.references.some(
    (r) =>
      !r.ref.set &&
      !r.ref.defaulted &&
      r.path.length === path.length &&
      r.path.every((p, i) => p === path[i]),
  );
}

export function at(location: Location, message: string, extra: Partial<Finding> = {}): Finding {
  return { ...location, message, ...extra };
}

export function pathLocation(ctx: RuleContext, path: Path, target: "key" | "value" = "value"): Location {
  return ctx.load.locate(path, target);
}
