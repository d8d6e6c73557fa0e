/**
 * Schema building blocks shared by the config schema and the platform manifests. Each carries a
 * `metadata` record that the loader, the linter and the JSON Schema export read (`kind`, `secret`, `env`),
 * and a message that says what is expected, never what was received (values may be secrets).
 */
import * as v from "valibot";
import { parseDuration } from "./duration.ts";

export type FieldKind = "bool" | "duration" | "secret" | "id" | "url" | "listen" | "targets";
export type FieldMeta = {
  kind?: FieldKind;
  secret?: boolean;
  /** The conventional environment variable that supplies this field when the config leaves it out. */
  env?: string;
  /** The variable users conventionally keep it in, when hermes does not read one by default. */
  variable?: string;
};

/** YAML 1.1 spellings of booleans that YAML 1.2 reads as strings; accepted with a warning. */
export const YAML11_BOOLEANS: Record<string, boolean> = Object.fromEntries([
  ...["y", "Y", "yes", "Yes", "YES", "on", "On", "ON"].map((k) => [k, true] as const),
  ...["n", "N", "no", "No", "NO", "off", "Off", "OFF"].map((k) => [k, false] as const),
]);

export const bool = () =>
  v.pipe(
    v.union([v.boolean(), v.picklist(Object.keys(YAML11_BOOLEANS))], "true or false"),
    v.transform((x): boolean => (typeof x === "boolean" ? x : YAML11_BOOLEANS[x]!)),
    v.metadata({ kind: "bool" } satisfies FieldMeta),
  );

export const duration = () =>
  v.pipe(
    v.union([v.number(), v.string()], "a duration such as 30, 500ms, 30s, 5m or 2h"),
    v.check((x) => parseDuration(x) !== undefined, "a duration such as 30, 500ms, 30s, 5m or 2h"),
    v.transform((x): number => parseDuration(x)!),
    v.metadata({ kind: "duration" } satisfies FieldMeta),
  );

export const int = (min: number, max: number) =>
  v.pipe(
    v.number(`a whole number from ${min} to ${max}`),
    v.integer(`a whole number from ${min} to ${max}`),
    v.minValue(min, `a whole number from ${min} to ${max}`),
    v.maxValue(max, `a whole number from ${min} to ${max}`),
  );

export const text = (expects = "text") => v.string(expects);

/** A credential or other secret; `env` names the variable that supplies it by convention. */
export const secret = (env?: string, variable?: string) =>
  v.pipe(
    v.string("a string (quote it if it looks like a number)"),
    v.metadata({ kind: "secret", secret: true, env, variable } satisfies FieldMeta),
  );

const SAFE_ID = "an id: a string, or an integer below 2^53 (quote longer numeric ids)";

/** A user or chat id: numbers and strings are both accepted and compared as strings. */
export const id = () =>
  v.pipe(
    v.union([v.string(), v.pipe(v.number(), v.safeInteger(SAFE_ID))], SAFE_ID),
    v.transform((x): string => String(x)),
    v.metadata({ kind: "id" } satisfies FieldMeta),
  );

/** A list of ids, or upstream's comma-separated string. */
export const idList = () =>
  v.pipe(
    v.union([v.array(id(), "a list of ids"), v.string()], "a list of ids"),
    v.transform((x): string[] =>
      typeof x === "string"
        ? x
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean)
        : x,
    ),
  );

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return LOOPBACK_HOSTS.has(h) || /^127\.\d+\.\d+\.\d+$/.test(h) || h.endsWith(".localhost");
}

export function isAcceptableUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol === "https:" || url.protocol === "wss:") return true;
  return (url.protocol === "http:" || url.protocol === "ws:") && isLoopbackHost(url.hostname);
}

const URL_EXPECTS = "an https:// URL (http:// only for a loopback host)";
export const url = () =>
  v.pipe(
    v.string(URL_EXPECTS),
    v.check(isAcceptableUrl, URL_EXPECTS),
    v.metadata({ kind: "url" } satisfies FieldMeta),
  );

/** `host:port`, `[v6]:port`, or `:port` (all interfaces). */
export function parseListen(value: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(value.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1] ?? (m[2] === "" ? "0.0.0.0" : m[2]!), port };
}

const LISTEN_EXPECTS = "an address such as 127.0.0.1:8642";
export const listen = () =>
  v.pipe(
    v.string(LISTEN_EXPECTS),
    v.check((x) => parseListen(x) !== undefined, LISTEN_EXPECTS),
    v.metadata({ kind: "listen" } satisfies FieldMeta),
  );

/** Delivery targets: `platform` or `platform:chat_id`, as a list or a comma-separated string. */
export const targets = () =>
  v.pipe(
    v.union(
      [v.array(v.string("a target such as telegram or telegram:12345")), v.string()],
      "a list of targets",
    ),
    v.transform((x): string[] =>
      (typeof x === "string" ? x.split(",") : x).map((s) => s.trim()).filter(Boolean),
    ),
    v.metadata({ kind: "targets" } satisfies FieldMeta),
  );

/** Reads the hermes metadata attached to a schema (through optional/nullable wrappers). */
export function fieldMeta(schema: unknown): FieldMeta {
  let s = schema as { pipe?: { type: string; metadata?: FieldMeta }[]; wrapped?: unknown; type?: string };
  while (s && (s.type === "optional" || s.type === "nullish" || s.type === "nullable") && s.wrapped) {
    s = s.wrapped as typeof s;
  }
  const found: FieldMeta = {};
  for (const item of s?.pipe ?? []) if (item.type === "metadata") Object.assign(found, item.metadata);
  return found;
}
