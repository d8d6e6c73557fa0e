/** Secret values never reach output: each is replaced by `<redacted, N chars>`, keeping only a public prefix. */
import { PLATFORMS } from "../platforms/registry.ts";
import type { Diagnostic } from "./diagnostic.ts";

const PUBLIC_PREFIXES = [
  ...new Set(
    PLATFORMS.flatMap((p) => p.credentials.map((c) => c.publicPrefix).filter((x): x is string => !!x)),
  ),
  "xoxp-",
  "xoxa-",
];

export function redactedForm(value: string): string {
  const prefix = PUBLIC_PREFIXES.find((p) => value.startsWith(p) && value.length > p.length + 8) ?? "";
  return `${prefix}<redacted, ${value.length} chars>`;
}

export class Redactor {
  readonly #secrets: string[];

  constructor(secrets: Iterable<string>) {
    // Longest first, so a secret that contains another is replaced whole.
    this.#secrets = [...new Set(secrets)].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  }

  text(input: string): string {
    let out = input;
    for (const secret of this.#secrets)
      if (out.includes(secret)) out = out.split(secret).join(redactedForm(secret));
    return out;
  }

  /** A copy of a JSON-like value with every string redacted (before serialising, so escaping cannot hide one). */
  deep<T>(value: T): T {
    if (typeof value === "string") return this.text(value) as T;
    if (Array.isArray(value)) return value.map((x) => this.deep(x)) as T;
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, x]) => [this.text(k), this.deep(x)])) as T;
    }
    return value;
  }

  diagnostic(d: Diagnostic): Diagnostic {
    return {
      ...d,
      message: this.text(d.message),
      ...(d.hint !== undefined ? { hint: this.text(d.hint) } : {}),
      path: d.path === null ? null : this.text(d.path),
    };
  }
}
