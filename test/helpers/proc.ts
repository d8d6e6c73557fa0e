/** Processes as tests see them through /proc. */
import { readFileSync } from "node:fs";

/** The process exists and is not a zombie waiting to be reaped (by whatever adopted it). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}
