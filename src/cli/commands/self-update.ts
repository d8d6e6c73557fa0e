/**
 * `hermes self-update [--version V] [--check]` (SPEC §9): the installer's layout and checks, then an atomic
 * replace that keeps the previous binary, then a restart of every hermes service running this binary, each
 * waited on until READY; one that is not ready in time, or exits (78 among others), brings the previous
 * binary back and its services with it. Until the rename, nothing on disk or in systemd has changed.
 */
import { copyFileSync, linkSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { fsyncDir } from "../../fs/atomic.ts";
import { type ServiceUnit, unitsRunning } from "../../install/services.ts";
import {
  compareVersions,
  detectTarget,
  downloadVerified,
  findArtifact,
  latestVersion,
  normalizeVersion,
  releaseBase,
} from "../../install/site.ts";
import { canWriteUnder, showUnit, systemctl, systemdRunning } from "../../systemd/host.ts";
import type { UnitKind } from "../../systemd/render.ts";
import { VERSION } from "../../version.ts";
import { err, out } from "../output.ts";
import { installedBinary, serviceKinds, trialRun } from "./install-common.ts";
import { isRoot, Refused, resolveTarget, whoAmI } from "./service.ts";
import { waitForStart } from "./service-wait.ts";

/** How long a restarted service has to report READY (beyond the old process's drained stop). */
const READY_WAIT_S = 30;

const note = (text: string) => err(`note: ${text}`);

export async function selfUpdate(args: Record<string, unknown>): Promise<number> {
  const binary = await installedBinary("self-update");
  const base = releaseBase();
  if (!base)
    throw new Refused(
      "This hermes was not built by a release, so it knows no release site: set HERMES_INSTALL_BASE_URL to the site to update from.",
    );
  const target = detectTarget();
  const pinned = typeof args.version === "string" ? normalizeVersion(args.version, "--version") : undefined;
  const wanted = pinned ?? (await latestVersion(base));
  const order = compareVersions(wanted, VERSION);
  const nothingToDo = order === 0 || (order < 0 && pinned === undefined);

  if (args.check === true) {
    if (nothingToDo) {
      out(`hermes ${VERSION} is up to date (${pinned ? "the version asked for" : `latest: ${wanted}`})\n`);
      return 0;
    }
    await findArtifact(base, wanted, target);
    out(
      `hermes ${wanted} is available for ${target} (this is ${VERSION}); run: hermes self-update${pinned ? ` --version ${wanted}` : ""}\n`,
    );
    return 1;
  }
  if (nothingToDo) {
    out(
      `hermes ${VERSION} is already ${pinned ? "installed" : `up to date (latest: ${wanted})`}; nothing changed\n`,
    );
    return 0;
  }

  const dir = dirname(binary);
  if (!canWriteUnder(dir))
    throw new Refused(
      `Cannot write ${dir}, where ${binary} is: run hermes self-update as the user who owns it (with sudo for a system-wide install).`,
    );
  err(`${order < 0 ? "downgrading" : "updating"} to hermes ${wanted} (${target}) from ${base}…`);
  const artifact = await findArtifact(base, wanted, target);
  const gz = await downloadVerified(artifact);
  // Unpacked beside the binary, so that the swap is a rename within one filesystem: atomic, and running
  // processes keep the file they started from.
  const staged = join(dir, `.hermes.new.${process.pid}`);
  try {
    writeFileSync(staged, gunzipSync(gz), { mode: 0o755 });
    trialRun(staged, wanted);
  } catch (error) {
    rmSync(staged, { force: true });
    throw error;
  }
  const previous = `${binary}.previous`;
  replaceWith(binary, binary, previous);
  renameSync(staged, binary);
  fsyncDir(dir);
  out(`${binary} is now hermes ${wanted} (was ${VERSION}, kept as ${previous})\n`);
  return restartServices(binary, previous, wanted);
}

/** Makes `to` a copy of `from` atomically (a hard link where the filesystem allows, else a copy). */
function replaceWith(binary: string, from: string, to: string): void {
  const temp = join(dirname(binary), `.hermes.swap.${process.pid}`);
  rmSync(temp, { force: true });
  try {
    linkSync(from, temp);
  } catch {
    copyFileSync(from, temp);
  }
  renameSync(temp, to);
}

async function restartServices(binary: string, previous: string, wanted: string): Promise<number> {
  const me = whoAmI();
  const units = unitsRunning(binary, me, serviceKinds());
  const ours = units.filter((u) => u.kind === "user" || isRoot());
  for (const u of units.filter((x) => !ours.includes(x)))
    note(
      `the system unit ${u.unit} runs ${binary}; restart it as root to run ${wanted}: sudo systemctl restart ${u.unit}`,
    );
  if (units.length === 0) {
    out(
      `No hermes service runs ${binary}. A gateway you started yourself runs the old version until it restarts: hermes gateway restart\n`,
    );
    return 0;
  }
  if (ours.length === 0) return 0;
  if (!systemdRunning()) {
    note("systemd is not running here, so no service was restarted");
    return 0;
  }
  const restarted: ServiceUnit[] = [];
  for (const u of ours) {
    const before = showUnit(u.kind, u.unit, ["ActiveState", "InvocationID"]);
    if (before.ActiveState !== "active" && before.ActiveState !== "reloading") {
      out(
        `${u.unit} is ${before.ActiveState ?? "unknown"}, not running: it runs hermes ${wanted} when it next starts\n`,
      );
      continue;
    }
    const outcome = await restartAndWait(u, before.InvocationID ?? "");
    if (outcome.ok) {
      restarted.push(u);
      out(`${u.unit} restarted: ready on hermes ${wanted}\n`);
      continue;
    }
    err(`${u.unit} did not become ready on hermes ${wanted}: ${outcome.reason}.`);
    replaceWith(binary, previous, binary);
    fsyncDir(dirname(binary));
    err(`rolled back: ${binary} is hermes ${VERSION} again`);
    let back = true;
    for (const r of [...restarted, u]) {
      const state = showUnit(r.kind, r.unit, ["InvocationID"]);
      const again = await restartAndWait(r, state.InvocationID ?? "");
      if (again.ok) out(`${r.unit} is running hermes ${VERSION} again\n`);
      else {
        back = false;
        err(
          `${r.unit} did not come back on hermes ${VERSION} either: ${again.reason}; see ${journal(r)} -n 50`,
        );
      }
    }
    err(
      `hermes self-update to ${wanted} was rolled back${back ? "; the services run the previous version" : ""}. See: ${journal(u)} -n 50`,
    );
    return 1;
  }
  return 0;
}

async function restartAndWait(u: ServiceUnit, invocation: string) {
  const r = systemctl(u.kind, ["--no-block", "restart", u.unit]);
  if (r.code !== 0)
    return {
      ok: false,
      reason: `systemctl restart failed: ${r.stderr.trim().split("\n")[0] || `exit ${r.code}`}`,
    };
  const stopS = Number(/^TimeoutStopSec=(\d+)$/m.exec(u.text)?.[1] ?? 0);
  const target = resolveTarget({ name: u.name, component: u.component }, u.kind, whoAmI());
  return waitForStart(target, invocation, READY_WAIT_S + stopS);
}

function journal(u: { kind: UnitKind; unit: string }): string {
  return `journalctl ${u.kind === "user" ? "--user " : ""}-u ${u.unit}`;
}
