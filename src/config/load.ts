/**
 * Loading the configuration exactly as the gateway will see it: `config.yaml` (YAML with positions), `.env`
 * over the process environment, `${VAR}` expansion, upstream compatibility, then the schema. Problems found on
 * the way are returned as diagnostics, never thrown; only a file that cannot be read at all is an InputError.
 */
import { readFileSync, type Stats, statSync } from "node:fs";
import { join, resolve } from "node:path";
import * as v from "valibot";
import { parse as parseYamlText } from "yaml";
import type { Diagnostic } from "../lint/diagnostic.ts";
import { suggest } from "../lint/suggest.ts";
import { PLATFORMS, platformByName } from "../platforms/registry.ts";
import { Environment } from "./env.ts";
import { type EnvFile, parseEnvFile } from "./env-file.ts";
import { fieldMeta, YAML11_BOOLEANS } from "./fields.ts";
import { interpolate, type Reference } from "./interpolate.ts";
import { dotPath, isPlainObject, type Path } from "./path.ts";
import { type ResolvedPlatform, resolvePlatforms } from "./platforms.ts";
import { type Config, configSchema } from "./schema.ts";
import { keysAt, schemaAt } from "./schema-walk.ts";
import { forEachLeaf, forEachNode } from "./tree.ts";
import { isUpstreamKey, UPSTREAM_ONLY_PLATFORMS } from "./upstream.ts";
import { isPlainScalar, locate, parseYaml, type YamlSource } from "./yaml-source.ts";

/** A file that cannot be read at all: `lint` exits 2, `gateway run` exits 78. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = "InputError";
  }
}

export const MAX_CONFIG_BYTES = 2 * 1024 * 1024;

export interface LoadOptions {
  /** HERMES_HOME. */
  home: string;
  /** A config file named on the command line (replaces `$HERMES_HOME/config.yaml`). */
  configFile?: string;
  /** An env file named on the command line (replaces `$HERMES_HOME/.env`). */
  envFile?: string;
  /** The process environment. */
  env: Record<string, string | undefined>;
}

export interface SourceFile {
  path: string;
  exists: boolean;
  /** Named on the command line. */
  explicit: boolean;
  stat?: Stats;
}

/** A `${VAR}` reference, at its place in the normalised config. */
export interface ReferenceAt {
  path: Path;
  ref: Reference;
}

export interface Location {
  file: string | null;
  path: string | null;
  line: number | null;
  column: number | null;
}

export interface LoadResult {
  /** HERMES_HOME: where `cron/jobs.json` and the state files are, whichever config file was read. */
  home: string;
  configFile: SourceFile;
  envFile: SourceFile;
  /** The parsed `.env`, when there is one. */
  dotenv?: EnvFile;
  env: Environment;
  /** The configuration cannot be used at all (it does not parse): the gateway exits 78. */
  fatal: boolean;
  /** The typed configuration, defaults applied; parts that failed validation fall back to their defaults. */
  config: Config;
  platforms: ResolvedPlatform[];
  /** Every `${VAR}` reference in the config. */
  references: ReferenceAt[];
  /** Problems found while reading and validating. */
  diagnostics: Diagnostic[];
  /** Values that must never be printed. */
  secrets: Set<string>;
  /** The config file had a value at this (normalised) path. */
  has(path: Path): boolean;
  /** The value at this normalised path was written literally, without `${…}`. */
  isLiteral(path: Path): boolean;
  /** Where a normalised path is in the config file (its key, or its value). */
  locate(path: Path, target?: "key" | "value"): Location;
}

/** Why a configuration that cannot be used at all (`fatal`) is refused, in one sentence naming the file and line. */
export function unusableConfigMessage(load: LoadResult): string {
  const first = load.diagnostics.find((d) => d.severity === "error");
  return `${load.configFile.path} cannot be used${first ? ` (line ${first.line ?? "?"}: ${first.message})` : ""}; run hermes lint config`;
}

export function loadConfig(options: LoadOptions): LoadResult {
  const configFile = sourceFile(
    options.configFile ?? join(options.home, "config.yaml"),
    options.configFile !== undefined,
  );
  const envFile = sourceFile(options.envFile ?? join(options.home, ".env"), options.envFile !== undefined);
  const configText = readText(configFile, "configuration file");
  const envText = readText(envFile, "env file");

  const diagnostics: Diagnostic[] = [];
  const dotenv = envText === undefined ? undefined : parseEnvFile(envText);
  for (const problem of dotenv?.problems ?? []) {
    diagnostics.push(
      diag("env-syntax", "warning", `${envFile.path} line ${problem.line}: ${problem.message}`, {
        file: envFile.path,
        path: null,
        line: problem.line,
        column: 1,
      }),
    );
  }
  const env = new Environment(options.env, dotenv ? { path: envFile.path, file: dotenv } : undefined);
  return new Loader(resolve(options.home), configFile, envFile, dotenv, env, diagnostics).load(configText);
}

function sourceFile(path: string, explicit: boolean): SourceFile {
  return { path: resolve(path), exists: false, explicit };
}

/** Reads a text file; a missing file that was not named explicitly is simply absent. */
function readText(file: SourceFile, what: string): string | undefined {
  let stat: Stats;
  try {
    stat = statSync(file.path);
  } catch (error) {
    if (code(error) === "ENOENT" || code(error) === "ENOTDIR") {
      if (file.explicit) throw new InputError(`The ${what} ${file.path} does not exist`, file.path);
      return undefined;
    }
    throw new InputError(`The ${what} ${file.path} cannot be read: ${reason(error)}`, file.path);
  }
  if (stat.isDirectory())
    throw new InputError(`The ${what} ${file.path} is a directory, not a file`, file.path);
  // A FIFO or device would block the read forever.
  if (!stat.isFile()) throw new InputError(`The ${what} ${file.path} is not a regular file`, file.path);
  if (stat.size > MAX_CONFIG_BYTES) {
    throw new InputError(
      `The ${what} ${file.path} is ${(stat.size / 1024 / 1024).toFixed(1)} MiB; hermes reads at most ${MAX_CONFIG_BYTES / 1024 / 1024} MiB`,
      file.path,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file.path);
  } catch (error) {
    throw new InputError(`The ${what} ${file.path} cannot be read: ${reason(error)}`, file.path);
  }
  if (bytes.includes(0))
    throw new InputError(`The ${what} ${file.path} is a binary file, not text`, file.path);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(`The ${what} ${file.path} is not UTF-8 text`, file.path);
  }
  file.exists = true;
  file.stat = stat;
  return text;
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException)?.code;
}

function reason(error: unknown): string {
  const c = code(error);
  if (c === "EACCES" || c === "EPERM") return "permission denied";
  if (c === "ELOOP") return "too many symbolic links";
  return c ?? (error instanceof Error ? error.message : String(error));
}

function diag(
  rule: string,
  severity: Diagnostic["severity"],
  message: string,
  where: Location,
  extra: { hint?: string; platform?: string } = {},
): Diagnostic {
  return { rule, severity, message, ...extra, ...where };
}

/** Upstream's dot-path pattern for a parent: `platforms.telegram` → `platforms.*`. */
function parentPattern(path: Path): string {
  if (path.length === 2 && path[0] === "platforms") return "platforms.*";
  return dotPath(path);
}

const MAX_PRUNE_ROUNDS = 20;

class Loader {
  readonly #origin = new WeakMap<object, Path>();
  #source: YamlSource | undefined;
  #tree: Record<string, unknown> = {};
  /** Paths (normalised, dot form) whose value the config file gave. */
  readonly #given = new Set<string>();
  /** Paths whose value came out of `${…}`. */
  readonly #interpolated = new Set<string>();
  readonly #references: ReferenceAt[] = [];
  readonly #declared = new Set<string>();
  readonly #reported = new Set<string>();

  constructor(
    readonly home: string,
    readonly configFile: SourceFile,
    readonly envFile: SourceFile,
    readonly dotenv: EnvFile | undefined,
    readonly env: Environment,
    readonly diagnostics: Diagnostic[],
  ) {}

  load(text: string | undefined): LoadResult {
    const fatal = text === undefined ? false : !this.#parse(text);
    if (!fatal) {
      this.#normalise();
      // Unknown keys are reported even when empty, so they are pruned before empty values are dropped.
      this.#pruneUnknownKeys();
      dropNulls(this.#tree);
      this.#recordGiven(this.#tree);
      this.#interpolateAll();
      this.#warnYaml11Booleans();
    }
    const config = fatal ? defaults() : this.#validate();
    const platforms = fatal ? [] : resolvePlatforms(config, this.#declared, this.env);
    if (text === undefined) {
      const byEnv = platforms.filter((p) => p.enabled).map((p) => p.manifest.name);
      this.diagnostics.push(
        diag(
          "embedded-default",
          "info",
          `${this.configFile.path} does not exist: the embedded default applies (HTTP on 127.0.0.1:8642, the echo agent, ${byEnv.length > 0 ? `and ${byEnv.join(", ")}, enabled by ${byEnv.length > 1 ? "their variables" : "its variables"}` : "no chat platforms"})`,
          { file: this.configFile.path, path: null, line: null, column: null },
        ),
      );
    }
    const result: LoadResult = {
      home: this.home,
      configFile: this.configFile,
      envFile: this.envFile,
      dotenv: this.dotenv,
      env: this.env,
      fatal,
      config,
      platforms,
      references: this.#references,
      diagnostics: this.diagnostics,
      secrets: new Set(),
      has: (path) => this.#given.has(dotPath(path)),
      isLiteral: (path) => this.#given.has(dotPath(path)) && !this.#interpolated.has(dotPath(path)),
      locate: (path, target = "key") => this.#locate(path, target),
    };
    collectSecrets(result, this.#tree);
    return result;
  }

  /** Parses the YAML; false when the file cannot be used at all. */
  #parse(text: string): boolean {
    const source = parseYaml(text);
    this.#source = source;
    let fatal = false;
    for (const problem of source.problems) {
      const duplicate = problem.code === "DUPLICATE_KEY";
      this.diagnostics.push(
        diag(
          duplicate ? "duplicate-key" : "yaml-syntax",
          "error",
          duplicate ? `${problem.message} (the last one would win)` : problem.message,
          {
            file: this.configFile.path,
            path: null,
            line: problem.position?.line ?? null,
            column: problem.position?.column ?? null,
          },
        ),
      );
      fatal ||= problem.fatal;
    }
    if (fatal) return false;
    let root: unknown;
    try {
      root = source.doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      const message =
        error instanceof ReferenceError && /alias/i.test(error.message)
          ? "too many aliases: the document expands beyond what a configuration needs (an alias bomb?)"
          : `the document cannot be read: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`;
      this.diagnostics.push(
        diag("yaml-syntax", "error", message, { file: this.configFile.path, path: null, line: 1, column: 1 }),
      );
      return false;
    }
    if (root === null || root === undefined) root = {};
    if (!isPlainObject(root)) {
      this.diagnostics.push(
        diag(
          "type-mismatch",
          "error",
          "config.yaml must be a mapping of sections (gateway, agent, platforms, cron)",
          {
            file: this.configFile.path,
            path: null,
            line: 1,
            column: 1,
          },
        ),
      );
      return false;
    }
    this.#tree = root;
    this.#recordOrigins(root);
    return true;
  }

  #recordOrigins(root: unknown): void {
    forEachNode(root, (node, path) => {
      if (typeof node === "object" && node !== null) this.#origin.set(node, path);
    });
  }

  /** Empty values count as absent; upstream's top-level platform blocks move under `platforms:`. */
  #normalise(): void {
    const tree = this.#tree;
    if (isPlainObject(tree.platforms)) {
      for (const [name, block] of Object.entries(tree.platforms)) {
        if (block === null && platformByName(name))
          tree.platforms[name] = this.#emptyBlock(["platforms", name]);
      }
    }
    for (const manifest of PLATFORMS) {
      const name = manifest.name;
      if (!(name in tree)) continue;
      if (tree.platforms === null || tree.platforms === undefined) tree.platforms = {};
      // A `platforms:` that is not a mapping gets its type-mismatch; the top-level block then stays put.
      if (!isPlainObject(tree.platforms)) continue;
      const block = tree[name] === null ? this.#emptyBlock([name]) : tree[name];
      delete tree[name];
      if (name in tree.platforms) {
        const top = this.#position([name], "key");
        const under = this.#position(["platforms", name], "key");
        this.diagnostics.push(
          diag(
            "duplicate-key",
            "error",
            `platform "${name}" is defined twice: at the top level (line ${top?.line}) and under platforms: (line ${under?.line}); hermes uses the one under platforms:`,
            { file: this.configFile.path, path: name, line: top?.line ?? null, column: top?.column ?? null },
            { hint: `merge the two blocks into platforms.${name}`, platform: name },
          ),
        );
        continue;
      }
      tree.platforms[name] = block;
    }
    if (isPlainObject(tree.platforms)) {
      for (const name of Object.keys(tree.platforms)) if (platformByName(name)) this.#declared.add(name);
    }
  }

  #emptyBlock(origin: Path): Record<string, unknown> {
    const block = {};
    this.#origin.set(block, origin);
    return block;
  }

  /** A rejected value no longer counts as given: its default applies. */
  #forget(path: Path): void {
    const prefix = dotPath(path);
    for (const given of this.#given) {
      if (given === prefix || given.startsWith(`${prefix}.`) || given.startsWith(`${prefix}[`))
        this.#given.delete(given);
    }
  }

  #recordGiven(root: unknown): void {
    forEachNode(root, (_, path) => this.#given.add(dotPath(path)));
  }

  /**
   * Keys hermes does not know are reported and dropped before `${…}` expansion. valibot's strictObject
   * stops at the first unknown key of a mapping, so the tree is walked against the schema's entries instead.
   */
  #pruneUnknownKeys(): void {
    const walk = (node: unknown, path: Path): void => {
      if (Array.isArray(node)) {
        for (const [i, item] of node.entries()) walk(item, [...path, i]);
        return;
      }
      if (!isPlainObject(node)) return;
      const schema = schemaAt(configSchema, path) as
        | { type?: string; entries?: Record<string, unknown> }
        | undefined;
      if (schema?.type !== "strict_object" && schema?.type !== "record") return;
      for (const key of Object.keys(node)) {
        if (schema.type === "strict_object" && !(key in (schema.entries ?? {}))) {
          this.#reportUnknownKey(path, key);
          delete node[key];
        } else walk(node[key], [...path, key]);
      }
    };
    walk(this.#tree, []);
  }

  #reportUnknownKey(parent: Path, key: string): void {
    const path = [...parent, key];
    const where = this.#locate(path, "key");
    const parentDot = dotPath(parent);
    const parentWritten = this.#written(parent);
    const candidates = keysAt(configSchema, parent);
    const close = suggest(key, candidates);
    const platform = parent[0] === "platforms" && typeof parent[1] === "string" ? parent[1] : undefined;
    const inPlatforms = parentDot === "platforms";
    const atTop = parent.length === 0;
    if (inPlatforms || (atTop && UPSTREAM_ONLY_PLATFORMS.has(key))) {
      if (UPSTREAM_ONLY_PLATFORMS.has(key)) {
        this.diagnostics.push(
          diag(
            "upstream-key",
            "warning",
            `platform "${key}" is supported by upstream's gateway, not by hermes; its block is ignored`,
            where,
            {
              hint: `hermes supports ${PLATFORMS.map((p) => p.name).join(", ")}`,
            },
          ),
        );
        return;
      }
      const platformGuess = suggest(
        key,
        PLATFORMS.map((p) => p.name),
      );
      this.diagnostics.push(
        diag(
          "unknown-platform",
          "error",
          `unknown platform "${key}"${inPlatforms ? " under platforms:" : ""}`,
          where,
          {
            hint: platformGuess
              ? `did you mean "${platformGuess}"?`
              : `hermes supports ${PLATFORMS.map((p) => p.name).join(", ")}`,
          },
        ),
      );
      return;
    }
    if (atTop && !close) {
      const platformGuess = suggest(
        key,
        PLATFORMS.map((p) => p.name),
      );
      if (platformGuess) {
        this.diagnostics.push(
          diag("unknown-platform", "error", `unknown platform "${key}" at the top level`, where, {
            hint: `did you mean "${platformGuess}"?`,
          }),
        );
        return;
      }
    }
    if (!close && isUpstreamKey(parentPattern(parent), key)) {
      const what = parentDot === "" ? `"${key}"` : `"${key}" in ${parentWritten}`;
      this.diagnostics.push(
        diag(
          "upstream-key",
          "warning",
          `${what} is read by upstream's gateway, not by hermes; it is ignored`,
          where,
          {
            hint: "remove it once you no longer run upstream's gateway with this file",
            platform,
          },
        ),
      );
      return;
    }
    const scope = parentDot === "" ? "at the top level" : `in ${parentWritten}`;
    this.diagnostics.push(
      diag("unknown-key", "error", `unknown key "${key}" ${scope}`, where, {
        hint: close
          ? `did you mean "${close}"?`
          : candidates.length > 0
            ? `known keys: ${candidates.join(", ")}`
            : undefined,
        platform,
      }),
    );
  }

  /** Expands `${…}` in every string value, recording each reference. */
  #interpolateAll(): void {
    forEachLeaf(this.#tree, (node, path, replace) => {
      if (typeof node !== "string" || !node.includes("$")) return;
      const result = interpolate(node, this.env);
      for (const ref of result.refs) this.#references.push({ path, ref });
      for (const problem of result.problems) {
        this.diagnostics.push(
          diag("env-unset", "warning", `${this.#written(path)}: ${problem}`, this.#locate(path, "value"), {
            hint: "write ${NAME}, ${NAME:-default} or ${NAME:?message}; $$ stands for a literal $",
            platform: platformOf(path),
          }),
        );
      }
      if (result.refs.length === 0) {
        if (result.value !== node) replace(result.value);
        return;
      }
      this.#interpolated.add(dotPath(path));
      replace(this.#retype(result.value, node, path));
    });
    dropNulls(this.#tree);
  }

  /** A plain (unquoted) scalar made entirely of one reference takes the type its value spells (`${PORT}` → 8080). */
  #retype(value: string, original: string, path: Path): unknown {
    if (
      !/^\$\{[^}]+\}$/.test(original) ||
      !this.#source ||
      !isPlainScalar(this.#source, this.#originPath(path))
    )
      return value;
    if (value === "") return null;
    try {
      const parsed = parseYamlText(value);
      return typeof parsed === "boolean" || typeof parsed === "number" ? parsed : value;
    } catch {
      return value;
    }
  }

  #warnYaml11Booleans(): void {
    forEachLeaf(this.#tree, (node, path) => {
      if (typeof node !== "string" || !(node in YAML11_BOOLEANS)) return;
      if (fieldMeta(schemaAt(configSchema, path)).kind !== "bool") return;
      const meaning = YAML11_BOOLEANS[node];
      this.diagnostics.push(
        diag(
          "yaml11-boolean",
          "warning",
          `${this.#written(path)}: "${node}" is a YAML 1.1 boolean; YAML 1.2 reads it as text, hermes takes it as ${meaning}`,
          this.#locate(path, "value"),
          { hint: `write ${meaning}`, platform: platformOf(path) },
        ),
      );
    });
  }

  /** Validates, reporting each problem once and dropping the bad value so its default applies. */
  #validate(): Config {
    for (let round = 0; round < MAX_PRUNE_ROUNDS; round++) {
      const result = v.safeParse(configSchema, this.#tree, { abortEarly: false });
      if (result.success) return result.output as Config;
      for (const found of result.issues) {
        const issue = deepest(found);
        const path = issuePath(issue);
        if (isUnknownKey(issue)) {
          this.#reportUnknownKey(path.slice(0, -1), String(path[path.length - 1]));
          if (!removeAt(this.#tree, path)) return defaults();
          continue;
        }
        const value = valueAt(this.#tree, path);
        this.#reportTypeIssue(issue, path, value);
        const target = value === undefined ? path.slice(0, -1) : path;
        if (!removeAt(this.#tree, target)) return defaults();
        this.#forget(target);
      }
    }
    return defaults();
  }

  #reportTypeIssue(issue: v.BaseIssue<unknown>, path: Path, value: unknown): void {
    const key = `${dotPath(this.#originPath(path))}`;
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    const platform = platformOf(path);
    if (value === undefined && path.length > 0) {
      const parent = path.slice(0, -1);
      this.diagnostics.push(
        diag(
          "type-mismatch",
          "error",
          `${this.#written(parent)} is missing the required key "${path[path.length - 1]}"`,
          this.#locate(parent, "key"),
          {
            platform,
          },
        ),
      );
      return;
    }
    const secretField = fieldMeta(schemaAt(configSchema, path)).secret === true;
    const expects = describeExpected(issue);
    let hint: string | undefined;
    if (typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value)) {
      hint = "numbers above 2^53 lose digits in YAML; quote the id";
    } else if (typeof value === "string" && expects === "true or false") {
      hint = "write true or false";
    }
    this.diagnostics.push(
      diag(
        "type-mismatch",
        "error",
        `${this.#written(path)}: expected ${expects}, got ${describeReceived(value, secretField)}`,
        this.#locate(path, "value"),
        {
          hint,
          platform,
        },
      ),
    );
  }

  /** The path as written in the file (a hoisted top-level block keeps its own path). */
  #originPath(path: Path): Path {
    let node: unknown = this.#tree;
    let base: Path = [];
    let rest: Path = path;
    for (let i = 0; i <= path.length; i++) {
      if (typeof node === "object" && node !== null) {
        const origin = this.#origin.get(node);
        if (origin) {
          base = origin;
          rest = path.slice(i);
        }
      }
      if (i === path.length) break;
      const part = path[i]!;
      node =
        typeof node === "object" && node !== null
          ? (node as Record<string | number, unknown>)[part]
          : undefined;
    }
    return [...base, ...rest];
  }

  /** The dot path as the user wrote it (`discord.enabled` for an upstream-style top-level block). */
  #written(path: Path): string {
    return dotPath(this.#originPath(path));
  }

  #position(path: Path, target: "key" | "value") {
    return this.#source ? locate(this.#source, path, target) : undefined;
  }

  #locate(path: Path, target: "key" | "value"): Location {
    const origin = this.#originPath(path);
    const pos = this.#position(origin, target);
    return {
      file: this.configFile.path,
      path: origin.length > 0 ? dotPath(origin) : null,
      line: pos?.line ?? null,
      column: pos?.column ?? null,
    };
  }
}

function defaults(): Config {
  return v.parse(configSchema, {}) as Config;
}

function platformOf(path: Path): string | undefined {
  return path[0] === "platforms" && typeof path[1] === "string" ? path[1] : undefined;
}

/** A key the schema does not have (a missing required key is reported on the key too, but expects its name). */
function isUnknownKey(issue: v.BaseIssue<unknown>): boolean {
  return issue.type === "strict_object" && issue.expected === "never" && issue.path?.at(-1)?.origin === "key";
}

/**
 * For a union that no option matched, the nested issue that got furthest explains the problem best.
 * valibot gives nested issues paths relative to the union's value, so the union's path is prepended.
 */
function deepest(issue: v.BaseIssue<unknown>): v.BaseIssue<unknown> {
  if (issue.type !== "union" || !issue.issues?.length) return issue;
  let best = issue;
  let bestDepth = -1;
  for (const nested of issue.issues) {
    const candidate = deepest({
      ...nested,
      path: [...(issue.path ?? []), ...(nested.path ?? [])] as typeof nested.path,
    });
    const depth = candidate.path?.length ?? 0;
    if (depth > bestDepth && depth > (issue.path?.length ?? 0)) {
      best = candidate;
      bestDepth = depth;
    }
  }
  return best;
}

function issuePath(issue: v.BaseIssue<unknown>): Path {
  return (issue.path ?? []).map((item) => item.key as string | number);
}

function valueAt(tree: unknown, path: Path): unknown {
  let node = tree;
  for (const part of path) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string | number, unknown>)[part];
  }
  return node;
}

/** Removes the value at `path` (a key, or a list item); false when there is nothing sensible to remove. */
function removeAt(tree: unknown, path: Path): boolean {
  if (path.length === 0) return false;
  const parent = valueAt(tree, path.slice(0, -1));
  const last = path[path.length - 1]!;
  if (Array.isArray(parent) && typeof last === "number" && last < parent.length) {
    parent.splice(last, 1);
    return true;
  }
  if (isPlainObject(parent) && String(last) in parent) {
    delete parent[String(last)];
    return true;
  }
  return false;
}

/** `key:` with nothing after it (YAML null) counts as absent, so defaults apply. */
function dropNulls(node: unknown): void {
  if (Array.isArray(node)) node.forEach(dropNulls);
  else if (isPlainObject(node)) {
    for (const [k, value] of Object.entries(node)) {
      if (value === null || value === undefined) delete node[k];
      else dropNulls(value);
    }
  }
}

/** What a schema wanted, in words. Our schemas carry that as their message; valibot's own start "Invalid". */
function describeExpected(issue: v.BaseIssue<unknown>): string {
  if (!issue.message.startsWith("Invalid ")) return issue.message;
  const expected = issue.expected ?? "";
  const words: Record<string, string> = {
    string: "text",
    number: "a number",
    boolean: "true or false",
    Object: "a mapping",
    Array: "a list",
    never: "nothing here",
  };
  if (words[expected]) return words[expected];
  if (expected.includes("|")) return `one of ${expected.replace(/"/g, "").split(" | ").join(", ")}`;
  return expected || "a different value";
}

/** What was found, in words; never the value itself for a secret field. */
function describeReceived(value: unknown, secretField: boolean): string {
  if (value === null) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "boolean") return secretField ? "a boolean" : String(value);
  if (typeof value === "number") return secretField ? "a number" : String(value);
  if (typeof value === "string") {
    if (secretField) return `text of ${value.length} characters`;
    const shown = value.length > 40 ? `${value.slice(0, 37)}…` : value;
    return JSON.stringify(shown);
  }
  return typeof value;
}

const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE_KEY|CREDENTIAL|AUTH/i;

/** Gathers every value that must be redacted from output. */
function collectSecrets(result: LoadResult, tree: unknown): void {
  const add = (value: unknown) => {
    if (typeof value === "string" && value.length >= 4) result.secrets.add(value);
  };
  forEachLeaf(tree, (node, path) => {
    if (fieldMeta(schemaAt(configSchema, path)).secret) add(node);
  });
  for (const { path, ref } of result.references) {
    if (fieldMeta(schemaAt(configSchema, path)).secret || SECRET_NAME.test(ref.name))
      add(result.env.get(ref.name)?.value);
  }
  for (const manifest of PLATFORMS) {
    for (const c of manifest.credentials) if (c.secret) add(result.env.get(c.env)?.value);
  }
  for (const platform of result.platforms)
    for (const c of platform.credentials) if (c.spec.secret) add(c.value);
  for (const [name, found] of result.env.entries()) {
    if (found.origin === "dotenv" && SECRET_NAME.test(name) && found.value.length >= 6) add(found.value);
  }
}
