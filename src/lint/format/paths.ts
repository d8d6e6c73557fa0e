import { relative } from "node:path";

/** A path as a reader wants it: relative to the working directory when inside it, else absolute. */
export function displayPath(file: string | null, cwd = process.cwd()): string {
  if (file === null) return "(environment)";
  const rel = relative(cwd, file);
  return rel !== "" && !rel.startsWith("..") && !rel.startsWith("/") ? rel : file;
}
