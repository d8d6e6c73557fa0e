/** Which systemd unit a process runs in, and under which manager, read from its cgroup. */
import { readFileSync } from "node:fs";

export interface ServiceUnit {
  /** e.g. `hermes-gateway.service`. */
  unit: string;
  /** `user`: a `systemd --user` manager (`systemctl --user`); `system`: PID 1. */
  manager: "user" | "system";
}

/**
 * The unit from the text of `/proc/<pid>/cgroup`: the last path component ending in `.service` (a service may
 * have sub-cgroups below it), on the unified hierarchy (`0::`) or else systemd's own v1 hierarchy
 * (`name=systemd`). A path through `user@<uid>.service` belongs to a user manager.
 */
export function unitFromCgroup(text: string): ServiceUnit | undefined {
  const paths = text
    .split("\n")
    .map((line) => /^\d+:([^:]*):(.*)$/.exec(line))
    .filter((m) => m !== null)
    .sort((a, b) => rank(a[1]!) - rank(b[1]!))
    .map((m) => m[2]!);
  for (const path of paths) {
    const parts = path.split("/");
    const last = parts.findLastIndex((part) => part.endsWith(".service"));
    if (last < 0) continue;
    // A process below user@<uid>.service but in no service of its own (a scope) must never be mistaken for
    // that manager: stopping "its unit" would stop the user's whole session manager.
    if (isUserManager(parts[last]!)) return undefined;
    return { unit: parts[last]!, manager: parts.slice(0, last).some(isUserManager) ? "user" : "system" };
  }
  return undefined;
}

function isUserManager(part: string): boolean {
  return /^user@[^/]*\.service$/.test(part);
}

function rank(controllers: string): number {
  return controllers === "" ? 0 : controllers === "name=systemd" ? 1 : 2;
}

/** The unit of a running process (`self` for this one), or undefined when it is not in a service's cgroup. */
export function serviceUnitOf(pid: number | "self"): ServiceUnit | undefined {
  try {
    return unitFromCgroup(readFileSync(`/proc/${pid}/cgroup`, "utf8"));
  } catch {
    return undefined; // no procfs (darwin), or the process is gone
  }
}
