/**
 * `lint config --print-config`: the configuration the gateway would run with, every value followed by where
 * it came from (default, a line of config.yaml, a variable), secrets redacted.
 */
import { basename } from "node:path";
import { Document, isScalar, type Node } from "yaml";
import { formatDuration } from "../config/duration.ts";
import { describeEnvOrigin } from "../config/env.ts";
import { fieldMeta } from "../config/fields.ts";
import type { LoadResult } from "../config/load.ts";
import { dotPath, isPlainObject, type Path } from "../config/path.ts";
import type { ResolvedPlatform } from "../config/platforms.ts";
import { configSchema } from "../config/schema.ts";
import { schemaAt } from "../config/schema-walk.ts";
import { forEachLeaf } from "../config/tree.ts";
import { redactedForm } from "./redact.ts";

export interface EffectiveConfig {
  config: Record<string, unknown>;
  /** Dot path → where the value came from. */
  sources: Record<string, string>;
}

export function effectiveConfig(load: LoadResult): EffectiveConfig {
  const sources: Record<string, string> = {};
  const configName = basename(load.configFile.path);
  const where = (path: Path, target: "key" | "value" = "value") => {
    const line = load.locate(path, target).line;
    return line === null ? configName : `${configName} line ${line}`;
  };
  const refsAt = (path: Path) => load.references.filter((r) => dotPath(r.path) === dotPath(path));

  const present = (value: unknown, path: Path): unknown => {
    if (Array.isArray(value)) return value.map((item, i) => present(item, [...path, i]));
    if (isPlainObject(value)) {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(value)) out[k] = present(item, [...path, k]);
      return out;
    }
    const meta = fieldMeta(schemaAt(configSchema, path));
    const key = dotPath(path);
    if (!load.has(path)) sources[key] = "default";
    else {
      const refs = refsAt(path);
      sources[key] =
        refs.length === 0
          ? where(path)
          : `${where(path)}, ${refs.map((r) => (r.ref.defaulted ? `\${${r.ref.name}} unset: default used` : describeEnvOrigin(r.ref.name, load.env.get(r.ref.name)))).join(", ")}`;
    }
    if (meta.secret && typeof value === "string" && value !== "") return redactedForm(value);
    if (meta.kind === "duration" && typeof value === "number") return formatDuration(value);
    return value;
  };

  const config = present(load.config, []) as Record<string, unknown>;
  const platforms: Record<string, unknown> = {};
  for (const p of load.platforms) {
    if (!p.declared && !p.enabled) continue;
    platforms[p.manifest.name] = platformView(load, p, sources, where);
  }
  config.platforms = platforms;
  const leaves = new Set<string>();
  forEachLeaf(config, (_, path) => leaves.add(dotPath(path)));
  return { config, sources: Object.fromEntries(Object.entries(sources).filter(([k]) => leaves.has(k))) };
}

function platformView(
  load: LoadResult,
  p: ResolvedPlatform,
  sources: Record<string, string>,
  where: (path: Path, target?: "key" | "value") => string,
): Record<string, unknown> {
  const name = p.manifest.name;
  const base: Path = ["platforms", name];
  const view: Record<string, unknown> = { enabled: p.enabled };
  sources[`platforms.${name}.enabled`] = p.explicitlyDisabled
    ? where([...base, "enabled"])
    : p.declared
      ? `block in ${where(base, "key")}`
      : p.enabled
        ? `enabled by ${p.envSet.join(" and ")}`
        : "default";
  for (const c of p.credentials) {
    const key = `platforms.${name}.${c.spec.key}`;
    if (c.value === undefined) {
      view[c.spec.key] = null;
      sources[key] = `missing: ${c.spec.env} is not set`;
      continue;
    }
    view[c.spec.key] = c.spec.secret ? redactedForm(c.value) : c.value;
    sources[key] =
      c.from === "config" ? where([...base, c.spec.key]) : describeEnvOrigin(c.spec.env, c.envValue);
  }
  const sourced = (key: string, s: { value: unknown; from: string; env?: string }) => {
    view[key] = s.value ?? null;
    sources[`platforms.${name}.${key}`] =
      s.from === "config"
        ? where([...base, key])
        : s.from === "env"
          ? describeEnvOrigin(s.env!, load.env.get(s.env!))
          : "default";
  };
  sourced("allowed_users", p.allowedUsers);
  sourced("allow_all", p.allowAll);
  sourced("home_channel", p.homeChannel);
  const block: Record<string, unknown> = load.config.platforms[name] ?? {};
  const rest = effectiveRest(load, block, base, sources, where);
  return { ...view, ...rest };
}

/** The block's other keys (require_mention, api_base, …) with their sources. */
function effectiveRest(
  load: LoadResult,
  block: Record<string, unknown>,
  base: Path,
  sources: Record<string, string>,
  where: (path: Path) => string,
): Record<string, unknown> {
  const skip = new Set(["enabled", "allowed_users", "allow_all", "home_channel"]);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(block)) {
    if (skip.has(key) || key in out) continue;
    const path = [...base, key];
    const meta = fieldMeta(schemaAt(configSchema, path));
    if (meta.env) continue; // credentials are shown above
    out[key] = meta.kind === "duration" && typeof value === "number" ? formatDuration(value) : value;
    sources[dotPath(path)] = load.has(path) ? where(path) : "default";
  }
  return out;
}

/** YAML with each value's source as a trailing comment. */
export function formatEffectiveYaml(load: LoadResult, effective: EffectiveConfig): string {
  const doc = new Document(effective.config);
  const annotate = (node: unknown, path: Path) => {
    const n = node as Node & { items?: { key: unknown; value: unknown }[] };
    if (isScalar(n)) {
      const source = effective.sources[dotPath(path)];
      if (source) n.comment = ` ${source}`;
      return;
    }
    n.items?.forEach((item, i) => {
      if (item && typeof item === "object" && "key" in item) {
        const key = isScalar(item.key) ? String(item.key.value) : String(item.key);
        annotate(item.value, [...path, key]);
      } else annotate(item, [...path, i]);
    });
  };
  annotate(doc.contents, []);
  const header = [
    "# Effective hermes configuration: each value is followed by where it came from.",
    `# config: ${load.configFile.exists ? load.configFile.path : `${load.configFile.path} (absent: embedded default)`}`,
    `# env:    ${load.envFile.exists ? load.envFile.path : `${load.envFile.path} (absent)`}`,
    "# Secrets are redacted.",
  ];
  return `${header.join("\n")}\n${doc.toString({ lineWidth: 0 })}`;
}
