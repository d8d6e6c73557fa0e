/** Reads systemd units with their drop-ins and runs the `service-*` rules over them. */
import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, resolve } from "node:path";
import { InputError } from "../config/load.ts";
import type { SystemdHost } from "../systemd/lint-host.ts";
import {
  dropInDirs,
  dropInSearchFor,
  findDropIns,
  parseUnitText,
  type Scope,
  searchPath,
  Unit,
  unitDir,
} from "../systemd/unit-file.ts";
import { ruleInfo } from "./catalog.ts";
import { type Diagnostic, sortDiagnostics } from "./diagnostic.ts";
import { SERVICE_RULES, type ServiceContext } from "./rules/service.ts";

const MAX_UNIT_BYTES = 1024 * 1024;

export interface ServiceLintOptions {
  systemd: SystemdHost;
  /** Binaries, homes and /etc/passwd are looked up under this directory (default "/"). */
  root?: string;
  /** `--home`, over the home the unit names. */
  home?: string;
  /** Where the unit was found installed. */
  scope?: Scope;
  /** The home of the user running the lint (default: this process's). */
  userHome?: string;
}

export function lintUnit(unit: Unit, options: ServiceLintOptions): Diagnostic[] {
  const ctx: ServiceContext = {
    unit,
    systemd: options.systemd,
    root: options.root ?? "/",
    home: options.home,
    scope: options.scope,
    userHome: options.userHome ?? homedir(),
  };
  const out: Diagnostic[] = [];
  for (const rule of SERVICE_RULES) {
    for (const finding of rule.check(ctx)) {
      out.push({ rule: rule.id, ...finding, severity: finding.severity ?? ruleInfo(rule.id).severity });
    }
  }
  return sortDiagnostics(out);
}

/** The search paths of both scopes, for the user running the lint. */
export function searchPaths(env: Record<string, string | undefined> = process.env): Record<Scope, string[]> {
  const home = env.HOME || homedir();
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  return {
    system: searchPath("system", { home }),
    user: searchPath("user", { home, xdgConfigHome: env.XDG_CONFIG_HOME, uid }),
  };
}

/** The directories hermes units are installed in, for the user running the lint. */
export function installDirs(env: Record<string, string | undefined> = process.env): Record<Scope, string> {
  const where = { home: env.HOME || homedir(), xdgConfigHome: env.XDG_CONFIG_HOME };
  return { system: unitDir("system", where), user: unitDir("user", where) };
}

/**
 * Reads a unit file and its drop-ins: those next to it, and, for a unit in a directory of systemd's
 * search path, those anywhere in that path. A file that cannot be read is an InputError naming it.
 */
export function readUnit(path: string, paths: Record<Scope, string[]>): Unit {
  const file = resolve(path);
  const main = parseUnitText(readText(file, "unit file"), file);
  const dropIns = findDropIns(dropInDirs(basename(file), dropInSearchFor(file, paths))).map((p) =>
    parseUnitText(readText(p, "drop-in"), p),
  );
  return new Unit(basename(file), main, dropIns);
}

function readText(path: string, what: string): string {
  let text: string;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) throw new InputError(`The ${what} ${path} is a directory, not a file`, path);
    if (!stat.isFile()) throw new InputError(`The ${what} ${path} is not a regular file`, path);
    if (stat.size > MAX_UNIT_BYTES) throw new InputError(`The ${what} ${path} is larger than 1 MiB`, path);
    text = readFileSync(path, "utf8");
  } catch (error) {
    if (error instanceof InputError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR")
      throw new InputError(`The ${what} ${path} does not exist`, path);
    if (code === "EACCES" || code === "EPERM")
      throw new InputError(`The ${what} ${path} cannot be read: permission denied`, path);
    throw new InputError(`The ${what} ${path} cannot be read: ${code ?? (error as Error).message}`, path);
  }
  if (text.includes("\u0000") || text.includes("\uFFFD"))
    throw new InputError(`The ${what} ${path} is not a text file`, path);
  return text;
}
