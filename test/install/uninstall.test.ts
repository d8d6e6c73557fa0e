/**
 * `hermes uninstall` after a real install: install.sh (under dash, from the loopback release tree) puts the
 * binary and its PATH lines in place, a unit that runs it sits in the unit dir (driven by the fake systemctl),
 * and uninstall says what it removes, then removes exactly that, leaving the user's own lines and HERMES_HOME.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { INSTALLER_SOURCE } from "../../scripts/release-tree.ts";
import { PATH_MARKER } from "../../src/install/path-lines.ts";
import { NODE_BUNDLE, ROOT } from "../helpers/cli.ts";
import { tempDir } from "../helpers/home.ts";
import { NEW, runAsync } from "../helpers/release.ts";
import { useServedRelease } from "../helpers/served-release.ts";

const FAKE_SYSTEMCTL = join(ROOT, "test", "fixtures", "systemd", "fake-systemctl.sh");
const USER_BASHRC = "# my own settings\nexport EDITOR=vi\n";

const release = useServedRelease();

describe("hermes uninstall", () => {
  it("names what it removes, then removes the service, the installer's PATH lines and the binary, and nothing else", async () => {
    const home = tempDir();
    const dir = join(home, "bin");
    const units = join(home, "units");
    const fake = join(home, "fake-systemd");
    const hermesHome = join(home, ".hermes");
    for (const d of [units, fake, hermesHome]) mkdirSync(d);
    writeFileSync(join(hermesHome, "config.yaml"), "gateway:\n");
    writeFileSync(join(home, ".bashrc"), USER_BASHRC);
    const env = {
      HOME: home,
      PATH: "/usr/bin:/bin",
      SHELL: "/bin/bash",
      HERMES_HOME: hermesHome,
      HERMES_INSTALL_DIR: dir,
      HERMES_INSTALL_BASE_URL: release.server.url,
      HERMES_SYSTEMCTL: FAKE_SYSTEMCTL,
      HERMES_SYSTEMD_UNIT_DIR: units,
      FAKE_SYSTEMD_DIR: fake,
    };
    const installed = await runAsync("dash", ["-s"], {
      input: readFileSync(INSTALLER_SOURCE),
      env,
      cwd: home,
    });
    expect(installed.code, installed.stderr).toBe(0);
    const bin = join(dir, "hermes");
    const unit = join(units, "hermes-gateway.service");
    writeFileSync(
      unit,
      `# Written by hermes install-service ${NEW}\n[Service]\nExecStart=${bin} gateway run\n`,
    );
    writeFileSync(join(fake, "state"), "active\n");
    const profileLine = readFileSync(join(home, ".profile"), "utf8").trimEnd();
    expect(profileLine.endsWith(PATH_MARKER)).toBe(true);

    const plan = await runAsync(bin, ["uninstall", "--dry-run"], { env });
    expect(plan.code).toBe(0);
    expect(plan.stdout).toBe(
      [
        "hermes uninstall removes:",
        `  the system service hermes-gateway.service (stopped, disabled, ${unit} removed)`,
        `  from ${home}/.profile: ${profileLine}`,
        `  from ${home}/.bashrc: ${profileLine}`,
        `  ${bin}`,
        `It leaves ${hermesHome} (configuration, state, logs) as it is.`,
        "dry run: nothing was removed",
        "",
      ].join("\n"),
    );
    expect(existsSync(bin) && existsSync(unit)).toBe(true);
    expect(existsSync(join(fake, "calls"))).toBe(false);

    const run = await runAsync(bin, ["uninstall"], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.startsWith(plan.stdout.split("dry run")[0]!)).toBe(true);
    const calls = readFileSync(join(fake, "calls"), "utf8");
    expect(calls).toContain("stop hermes-gateway.service");
    expect(calls).toContain("disable hermes-gateway.service");
    expect(existsSync(unit)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
    expect(readFileSync(join(home, ".bashrc"), "utf8")).toBe(USER_BASHRC);
    expect(readFileSync(join(home, ".profile"), "utf8")).not.toContain(PATH_MARKER);
    expect(readdirSync(hermesHome)).toEqual(["config.yaml"]);
  }, 60_000);

  it("from source (not the installed binary): refused, exit 1, nothing removed", async () => {
    const home = tempDir();
    writeFileSync(join(home, ".profile"), `export PATH="/x:$PATH" ${PATH_MARKER}\n`);
    const run = await runAsync(process.execPath, [NODE_BUNDLE, "uninstall"], {
      env: { HOME: home, PATH: "/usr/bin:/bin", HERMES_SYSTEMD_UNIT_DIR: home },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("acts on the installed hermes binary");
    expect(readFileSync(join(home, ".profile"), "utf8")).toContain(PATH_MARKER);
  });
});
