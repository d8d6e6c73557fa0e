/** `hermes uninstall-service`: stop (drained), disable and remove the unit hermes wrote, then reload systemd. */
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { join } from "node:path";
import { canWriteUnder, systemctl, systemdRunning } from "../../systemd/host.ts";
import { isHermesUnit } from "../../systemd/render.ts";
import { err, out } from "../output.ts";
import { Refused, resolveKind, resolveTarget, type Target, whoAmI } from "./service.ts";

export async function uninstall(args: Record<string, unknown>): Promise<number> {
  const kind = resolveKind(args);
  const target = resolveTarget(args, kind, whoAmI());
  if (!existsSync(target.path)) {
    out(`nothing to remove: ${target.path} does not exist\n`);
    return 0;
  }
  const text = readFileSync(target.path, "utf8");
  if (!isHermesUnit(text) && args.force !== true)
    throw new Refused(
      `${target.path} was not written by hermes install-service, so it is left alone; pass --force to remove it anyway.`,
    );
  if (!canWriteUnder(target.dir))
    throw new Refused(
      `Cannot remove ${target.path}: ${kind === "system" ? "a system unit needs root (run it with sudo)" : "check who owns it"}.`,
    );

  const did: string[] = [];
  const problems: string[] = [];
  const running = systemdRunning();
  if (running) {
    const stopS = Number(/^TimeoutStopSec=(\d+)/m.exec(text)?.[1] ?? 90);
    err(`stopping ${target.unit} (a drained stop, up to ${stopS} s)…`);
    const stop = systemctl(kind, ["stop", target.unit]);
    if (stop.code === 0) did.push("stopped it");
    else problems.push(`stop failed: ${firstLine(stop.stderr, stop.code)}`);
    const disable = systemctl(kind, ["disable", target.unit]);
    if (disable.code === 0) did.push("disabled it");
    else problems.push(`disable failed: ${firstLine(disable.stderr, disable.code)}`);
  } else {
    // No systemd to ask: what `disable` would remove are the .wants/ links to this unit.
    for (const link of wantsLinks(target)) {
      rmSync(link);
      did.push(`removed ${link}`);
    }
  }
  rmSync(target.path);
  did.push(`removed ${target.path}`);
  if (running) {
    const reload = systemctl(kind, ["daemon-reload"]);
    if (reload.code === 0) did.push("reloaded systemd");
    else problems.push(`daemon-reload failed: ${firstLine(reload.stderr, reload.code)}`);
    // Forget a failed state, so the unit does not linger in `systemctl --failed`.
    systemctl(kind, ["reset-failed", target.unit]);
  }

  out(`${target.unit}: ${did.join(", ")}\n`);
  if (!running) err("note: systemd is not running here, so nothing was stopped or reloaded");
  const home = /^Environment="?HERMES_HOME=(.*?)"?$/m.exec(text)?.[1];
  if (home) out(`HERMES_HOME ${home.replace(/\\(.)/g, "$1").replaceAll("%%", "%")} is left as it is\n`);
  if (existsSync(`${target.path}.d`))
    out(`${target.path}.d (your drop-ins) is left as it is; remove it if you no longer need it\n`);
  for (const p of problems) err(p);
  return problems.length > 0 ? 1 : 0;
}

function firstLine(text: string, code: number): string {
  return text.trim().split("\n")[0] || `exit ${code}`;
}

/** Symlinks to the unit in `<dir>/*.wants/` and `*.requires/`. */
function wantsLinks(target: Target): string[] {
  const links: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(target.dir);
  } catch {
    return links;
  }
  for (const entry of entries) {
    if (!/\.(wants|requires)$/.test(entry)) continue;
    const link = join(target.dir, entry, target.unit);
    try {
      if (lstatSync(link).isSymbolicLink() && readlinkSync(link).endsWith(`/${target.unit}`))
        links.push(link);
    } catch {
      // no link to this unit there
    }
  }
  return links;
}
