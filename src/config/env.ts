import type { EnvFile } from "./env-file.ts";

/** Where an environment value came from. */
export interface EnvValue {
  value: string;
  origin: "dotenv" | "process";
  /** For `dotenv`: the file and the 1-based line of the assignment. */
  file?: string;
  line?: number;
}

/** The environment hermes sees: the process environment overridden by `.env` (as upstream does). */
export class Environment {
  readonly #values = new Map<string, EnvValue>();

  constructor(processEnv: Record<string, string | undefined>, dotenv?: { path: string; file: EnvFile }) {
    for (const [key, value] of Object.entries(processEnv)) {
      if (value !== undefined) this.#values.set(key, { value, origin: "process" });
    }
    for (const entry of dotenv?.file.entries ?? []) {
      this.#values.set(entry.key, {
        value: entry.value,
        origin: "dotenv",
        file: dotenv!.path,
        line: entry.line,
      });
    }
  }

  get(name: string): EnvValue | undefined {
    return this.#values.get(name);
  }

  /** A variable counts as set when it holds a non-empty value. */
  value(name: string): string | undefined {
    const found = this.#values.get(name)?.value;
    return found === undefined || found === "" ? undefined : found;
  }

  entries(): IterableIterator<[string, EnvValue]> {
    return this.#values.entries();
  }
}

/** Human description of a variable's origin: `.env line 3` or `the environment`. */
export function describeEnvOrigin(name: string, found: EnvValue | undefined): string {
  if (!found) return `${name} (unset)`;
  if (found.origin === "dotenv") return `${name} from ${baseName(found.file ?? ".env")} line ${found.line}`;
  return `${name} from the process environment`;
}

function baseName(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash >= 0 ? path.slice(slash + 1) : path;
}
