/**
 * What is wrong with HERMES_HOME when the gateway cannot create or open what it keeps there (a state path that
 * is a file, a journal that is a directory, a read-only or full file system, no permission): one clause naming
 * the path at fault, from the error the file system gave.
 */
import { statSync } from "node:fs";
import { dirname } from "node:path";

/** The file-system errors that say the home is unusable, rather than that hermes itself went wrong. */
const HOME_ERRORS = new Set([
  "EEXIST",
  "ENOTDIR",
  "EISDIR",
  "EACCES",
  "EPERM",
  "EROFS",
  "ENOSPC",
  "EDQUOT",
  "ENOENT",
  "ELOOP",
  "ENAMETOOLONG",
  "EIO",
]);

/** A clause such as "/srv/bot/state is not a directory", or undefined when `error` is no such file-system error. */
export function homeFault(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, path } = error as NodeJS.ErrnoException;
  if (typeof code !== "string" || typeof path !== "string" || !HOME_ERRORS.has(code)) return undefined;
  switch (code) {
    case "EEXIST":
    case "ENOTDIR": {
      // mkdir over a file (EEXIST), or a path through one (ENOTDIR): name the file in the way.
      const blocker = firstNonDirectory(path);
      if (blocker) return `${blocker} is not a directory, and hermes keeps a directory there`;
      break;
    }
    case "EISDIR":
      return `${path} is a directory, and hermes keeps a file there`;
    case "EACCES":
    case "EPERM":
      return `${path} cannot be written by uid ${process.getuid?.() ?? "?"} (permission denied)`;
    case "EROFS":
      return `${path} is on a read-only file system`;
    case "ENOSPC":
    case "EDQUOT":
      return `the file system holding ${path} is full`;
  }
  return `${path} cannot be used (${code})`;
}

/** The first of `path` and its parents that exists and is not a directory. */
function firstNonDirectory(path: string): string | undefined {
  for (let at = path; ; at = dirname(at)) {
    try {
      if (!statSync(at).isDirectory()) return at;
    } catch {
      // missing, or itself below a file: look further up
    }
    if (dirname(at) === at) return undefined;
  }
}
