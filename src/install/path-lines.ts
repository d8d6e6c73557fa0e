/**
 * The PATH lines install/install.sh adds to shell startup files: each ends with PATH_MARKER, which is how
 * `hermes uninstall` finds them again without touching anything the user wrote.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../fs/atomic.ts";

/** Kept equal to PATH_MARKER in install/install.sh (a test installs, then uninstalls, and compares). */
export const PATH_MARKER = "# added by the hermes installer";

/** Every startup file install.sh may write, whichever shell the user had then. */
export function startupFiles(home: string, zdotdir?: string): string[] {
  return [
    join(home, ".profile"),
    join(home, ".bashrc"),
    join(home, ".bash_profile"),
    join(zdotdir || home, ".zshrc"),
    join(home, ".config", "fish", "config.fish"),
  ];
}

export interface PathLines {
  file: string;
  lines: string[];
}

/** The installer's lines in each startup file that has any. */
export function findPathLines(files: readonly string[]): PathLines[] {
  const found: PathLines[] = [];
  for (const file of new Set(files)) {
    if (!existsSync(file)) continue;
    const lines = readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.endsWith(PATH_MARKER));
    if (lines.length > 0) found.push({ file, lines });
  }
  return found;
}

/** Rewrites `file` without the installer's lines, keeping its mode. */
export function removePathLines(file: string): void {
  const text = readFileSync(file, "utf8");
  const kept = text
    .split("\n")
    .filter((l) => !l.endsWith(PATH_MARKER))
    .join("\n");
  writeFileAtomic(file, kept, { mode: statSync(file).mode & 0o7777 });
}
