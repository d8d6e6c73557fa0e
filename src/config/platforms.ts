/**
 * Which platforms run, and with what: the enablement rules of the spec, credentials from the block or their
 * conventional variables, and upstream's allowlist and home-channel variables.
 */
import type { CredentialSpec, PlatformManifest } from "../platforms/manifest.ts";
import { PLATFORMS } from "../platforms/registry.ts";
import type { Environment, EnvValue } from "./env.ts";
import { YAML11_BOOLEANS } from "./fields.ts";
import type { Config, PlatformBlock } from "./schema.ts";

export interface ResolvedCredential {
  spec: CredentialSpec;
  /** The value in use (from the block, else from the variable); undefined when missing. */
  value?: string;
  from: "config" | "env" | null;
  /** The variable's value and origin, when it is set. */
  envValue?: EnvValue;
}

/** A value that may come from the block or from an upstream variable. */
export interface Sourced<T> {
  value: T;
  from: "config" | "env" | "default";
  env?: string;
}

export interface ResolvedPlatform {
  manifest: PlatformManifest;
  /** The typed block, when the config has one (it may be empty). */
  block?: PlatformBlock;
  /** The config declares a block for it (top level or under `platforms:`). */
  declared: boolean;
  enabled: boolean;
  /** Why it is enabled: its block, or its credential variables (no block). */
  enabledBy: "block" | "env" | null;
  /** `enabled: false` in its block. */
  explicitlyDisabled: boolean;
  /** Credential variables that are set. */
  envSet: string[];
  credentials: ResolvedCredential[];
  allowedUsers: Sourced<string[]>;
  allowAll: Sourced<boolean>;
  homeChannel: Sourced<string | undefined>;
}

export function resolvePlatforms(
  config: Config,
  declared: ReadonlySet<string>,
  env: Environment,
): ResolvedPlatform[] {
  return PLATFORMS.map((manifest) =>
    resolvePlatform(manifest, config.platforms[manifest.name], declared.has(manifest.name), env),
  );
}

function resolvePlatform(
  manifest: PlatformManifest,
  block: PlatformBlock | undefined,
  declared: boolean,
  env: Environment,
): ResolvedPlatform {
  const credentials = manifest.credentials.map((spec): ResolvedCredential => {
    const inBlock = block?.[spec.key];
    const envValue = env.get(spec.env);
    if (typeof inBlock === "string" && inBlock !== "")
      return { spec, value: inBlock, from: "config", envValue };
    const fromEnv = env.value(spec.env);
    if (fromEnv !== undefined) return { spec, value: fromEnv, from: "env", envValue };
    return { spec, from: null, envValue };
  });
  const envSet = manifest.credentials.filter((c) => env.value(c.env) !== undefined).map((c) => c.env);
  const explicitlyDisabled = block?.enabled === false;
  const enabled = declared ? !explicitlyDisabled : envSet.length > 0;
  const prefix = manifest.envPrefix;
  return {
    manifest,
    block,
    declared,
    enabled,
    enabledBy: enabled ? (declared ? "block" : "env") : null,
    explicitlyDisabled,
    envSet,
    credentials,
    allowedUsers: pick(block?.allowed_users, env, `${prefix}_ALLOWED_USERS`, splitList, []),
    allowAll:
      block?.allow_all !== undefined
        ? { value: block.allow_all, from: "config" }
        : (envFlag(env, `${prefix}_ALLOW_ALL_USERS`) ??
          envFlag(env, "GATEWAY_ALLOW_ALL_USERS") ?? { value: false, from: "default" }),
    homeChannel: pick(block?.home_channel, env, `${prefix}_HOME_CHANNEL`, (x) => x.trim(), undefined),
  };
}

function pick<T>(
  inBlock: T | undefined,
  env: Environment,
  name: string,
  parse: (text: string) => T,
  fallback: T,
): Sourced<T> {
  if (inBlock !== undefined) return { value: inBlock, from: "config" };
  const raw = env.value(name);
  if (raw !== undefined) return { value: parse(raw), from: "env", env: name };
  return { value: fallback, from: "default" };
}

function splitList(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function envFlag(env: Environment, name: string): Sourced<boolean> | undefined {
  const raw = env.value(name)?.trim();
  if (raw === undefined) return undefined;
  const value = raw in YAML11_BOOLEANS ? YAML11_BOOLEANS[raw]! : /^(true|1)$/i.test(raw);
  return { value, from: "env", env: name };
}
