import type { Environment } from "./env.ts";

/** One `${NAME…}` reference found in a configuration value. */
export interface Reference {
  name: string;
  /** `` (plain), `:-`/`-` (default), `:?`/`?` (required with a message). */
  operator: "" | ":-" | "-" | ":?" | "?";
  /** The variable was defined (for `:-`/`:?`: defined and non-empty). */
  set: boolean;
  /** The default was used. */
  defaulted: boolean;
  /** For `:?`/`?`: the author's message. */
  message?: string;
}

export interface Interpolated {
  value: string;
  refs: Reference[];
  /** Malformed `${` sequences, described without the surrounding text. */
  problems: string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/**
 * Expands `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}` and `${VAR?message}` the way
 * docker compose does; `$$` stands for a literal `$`; a bare `$VAR` is left alone (no surprise interpolation).
 */
export function interpolate(text: string, env: Environment): Interpolated {
  if (!text.includes("$")) return { value: text, refs: [], problems: [] };
  const refs: Reference[] = [];
  const problems: string[] = [];
  let out = "";
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch !== "$") {
      out += ch;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === "$") {
      out += "$";
      i += 2;
      continue;
    }
    if (next !== "{") {
      out += ch;
      i++;
      continue;
    }
    const close = text.indexOf("}", i + 2);
    const body = close < 0 ? "" : text.slice(i + 2, close);
    const name = NAME.exec(body)?.[0];
    if (close < 0 || !name) {
      problems.push(close < 0 ? "unterminated ${ in value" : "malformed ${…} reference in value");
      out += ch;
      i++;
      continue;
    }
    const rest = body.slice(name.length);
    const operator = (["", ":-", "-", ":?", "?"] as const).find((op) => op !== "" && rest.startsWith(op));
    if (rest !== "" && operator === undefined) {
      problems.push(`unsupported operator in \${${name}…}; use :- or :?`);
      out += text.slice(i, close + 1);
      i = close + 1;
      continue;
    }
    const op = operator ?? "";
    const argument = rest.slice(op.length);
    const raw = env.get(name)?.value;
    // Plain, `-` and `?` care whether the variable exists; `:-` and `:?` also treat empty as unset.
    const set = op === ":-" || op === ":?" ? raw !== undefined && raw !== "" : raw !== undefined;
    const ref: Reference = { name, operator: op, set, defaulted: false };
    if (set) {
      out += raw;
    } else if (op === ":-" || op === "-") {
      out += argument;
      ref.defaulted = true;
    } else if (op === ":?" || op === "?") {
      ref.message = argument;
    } else {
      out += raw ?? "";
    }
    refs.push(ref);
    i = close + 1;
  }
  return { value: out, refs, problems };
}
