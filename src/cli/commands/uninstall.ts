/**
 * `hermes uninstall`: removes what install.sh and install-service put on the machine for this binary (its
 * services, the PATH lines the installer added, the binary and the one self-update kept), saying what it will
 * remove first. HERMES_HOME (configuration, state, logs) is left alone.
 */
import { existsSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { findPathLines, removePathLines, startupFiles } from "../../install/path-lines.ts";
import { unitsRunning } from "../../install/services.ts";
import { canWriteUnder } from "../../systemd/host.ts";
import { out } from "../output.ts";
import { installedBinary, serviceKinds } from "./install-common.ts";
import { isRoot, Refused, whoAmI } from "./service.ts";
import { uninstall as uninstallService } from "./service-uninstall.ts";

export async function uninstallHermes(args: Record<string, unknown>): Promise<number> {
  const binary = await installedBinary("uninstall");
  const me = whoAmI();
  const units = unitsRunning(binary, me, serviceKinds());
  const home = process.env.HOME || me.home;
  const pathLines = findPathLines(startupFiles(home, process.env.ZDOTDIR));
  const files = [binary, `${binary}.previous`].filter((f) => existsSync(f));
  const hermesHome =
    typeof args.home === "string" ? args.home : process.env.HERMES_HOME || join(me.home, ".hermes");

  const plan = [
    ...units.map((u) => `the ${u.kind} service ${u.unit} (stopped, disabled, ${u.path} removed)`),
    ...pathLines.flatMap(({ file, lines }) => lines.map((l) => `from ${file}: ${l}`)),
    ...files,
  ];
  out(`hermes uninstall removes:\n${plan.map((p) => `  ${p}\n`).join("")}`);
  out(`It leaves ${hermesHome} (configuration, state, logs) as it is.\n`);
  if (args["dry-run"] === true) {
    out("dry run: nothing was removed\n");
    return 0;
  }
  const systemUnits = units.filter((u) => u.kind === "system");
  if (systemUnits.length > 0 && !isRoot())
    throw new Refused(
      `${systemUnits.map((u) => u.path).join(", ")} ${systemUnits.length === 1 ? "is a system unit" : "are system units"}, which only root can remove: run hermes uninstall with sudo; nothing was removed.`,
    );
  if (!canWriteUnder(dirname(binary)))
    throw new Refused(
      `Cannot remove ${binary}: ${dirname(binary)} is not writable by you (sudo for a system-wide install); nothing was removed.`,
    );

  let failed = false;
  for (const u of units) {
    const code = await uninstallService({ [u.kind]: true, name: u.name, component: u.component });
    if (code !== 0) failed = true;
  }
  for (const { file } of pathLines) {
    removePathLines(file);
    out(`removed the installer's PATH line from ${file}\n`);
  }
  for (const f of files) {
    rmSync(f, { force: true });
    out(`removed ${f}\n`);
  }
  out(
    failed
      ? "hermes is uninstalled, except for what is reported above\n"
      : "hermes is uninstalled; open a new shell to drop it from PATH\n",
  );
  return failed ? 1 : 0;
}
