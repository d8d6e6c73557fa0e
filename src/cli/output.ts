/** Output conventions: colour only on a TTY and never with NO_COLOR; write, then let the process end. */
import { ANSI, type Colors, PLAIN } from "../lint/format/human.ts";

export function wantsColor(stream: NodeJS.WriteStream): boolean {
  const env = process.env;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0") return true;
  return stream.isTTY === true && env.TERM !== "dumb";
}

export function colors(stream: NodeJS.WriteStream): Colors {
  return wantsColor(stream) ? ANSI : PLAIN;
}

/** Strips ANSI escapes (citty colours its usage text unconditionally). */
export function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, "");
}

export function out(text: string): void {
  process.stdout.write(text);
}

export function err(text: string): void {
  process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
}
