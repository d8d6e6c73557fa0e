/** A location inside the configuration tree: mapping keys and sequence indexes. */
export type Path = readonly (string | number)[];

/** `["cron","jobs",0,"schedule"]` → `cron.jobs[0].schedule`. */
export function dotPath(path: Path): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
