/**
 * `hermes install-service` and `hermes uninstall-service` through the compiled binary. Without a running
 * systemd, the test hooks point systemctl and loginctl at fakes that record their arguments
 * (test/fixtures/systemd/fake-*.sh) and the unit directory at a temp dir.
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderUnit, type UnitOptions } from "../../src/systemd/render.ts";
import { BINARY, cleanEnv, hermes, ROOT } from "../helpers/cli.ts";
import { makeHome, tempDir } from "../helpers/home.ts";

const FIXTURES = join(ROOT, "test", "fixtures", "systemd");
const ME = userInfo().username;
const MY_GROUP = spawnSync("id", ["-gn"], { encoding: "utf8" }).stdout.trim();
const IS_ROOT = process.getuid?.() === 0;
const REAL_BINARY = realpathSync(BINARY);

const UPSTREAM_UNIT = `[Unit]
Description=Hermes Agent Gateway - Messaging Platform Integration
After=network-online.target
Wants=network-online.target
StartLimitIntervalSec=0

[Service]
Type=simple
ExecStart=/home/alice/.hermes/hermes-agent/venv/bin/python -m hermes_cli.main gateway run --replace
WorkingDirectory=/home/alice/.hermes
Restart=always
RestartSec=5
RestartForceExitStatus=75
KillMode=mixed

[Install]
WantedBy=default.target
`;

/** A fake systemd: its unit directory, the calls made to systemctl/loginctl, and the environment to run with. */
function fakeSystemd(extra: Record<string, string> = {}) {
  const root = tempDir();
  const units = join(root, "units");
  const state = join(root, "systemd");
  mkdirSync(units);
  mkdirSync(state);
  const env = cleanEnv({
    HERMES_SYSTEMCTL: join(FIXTURES, "fake-systemctl.sh"),
    HERMES_LOGINCTL: join(FIXTURES, "fake-loginctl.sh"),
    HERMES_SYSTEMD_UNIT_DIR: units,
    FAKE_SYSTEMD_DIR: state,
    ...extra,
  });
  const calls = () => {
    const file = join(state, "calls");
    return existsSync(file) ? readFileSync(file, "utf8").trim().split("\n") : [];
  };
  const unit = (name = "hermes-gateway.service") => join(units, name);
  return { units, state, env, calls, unit };
}

const rendered = (options: Partial<UnitOptions> & Pick<UnitOptions, "home" | "kind">) =>
  renderUnit({
    component: "gateway",
    binary: REAL_BINARY,
    user: ME,
    group: MY_GROUP,
    systemdVersion: 252,
    drainTimeoutMs: 30_000,
    ...options,
  });

describe("install-service --dry-run", () => {
  it("prints on stdout exactly the unit the renderer makes, notes on stderr", () => {
    const home = makeHome({ config: "gateway:\n  drain_timeout: 45s\n" });
    const env = cleanEnv({ HERMES_SYSTEMD_VERSION: "252", HERMES_SYSTEMCTL: "/nonexistent/systemctl" });
    const cases: [string[], Parameters<typeof rendered>[0]][] = [
      [["--user"], { kind: "user", home, drainTimeoutMs: 45_000 }],
      [["--system", "--run-as-user", ME], { kind: "system", home, drainTimeoutMs: 45_000 }],
      [
        ["--system", "--run-as-user", ME, "--name", "eu", "--component", "cron"],
        { kind: "system", home, drainTimeoutMs: 45_000, name: "eu", component: "cron" },
      ],
    ];
    for (const [flags, options] of cases) {
      const run = hermes(["install-service", "--dry-run", "--home", home, ...flags], { env });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe(rendered(options));
      expect(run.stderr).toContain("dry run");
      expect(run.stderr).toContain("nothing was written");
    }
  });

  it("needs no systemd, no existing home and no root; assumes systemd 252 when it cannot ask", () => {
    const home = join(tempDir(), "not", "yet");
    const env = cleanEnv({ HERMES_SYSTEMCTL: "/nonexistent/systemctl" });
    const run = hermes(["install-service", "--dry-run", "--user", "--home", home], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(rendered({ kind: "user", home }));
    expect(run.stderr).toContain("written for systemd 252");
    expect(existsSync(home)).toBe(false);
  });

  it("from Node on the bundle it refuses without --binary, and uses --binary when given", () => {
    const home = tempDir();
    const env = cleanEnv({ HERMES_SYSTEMD_VERSION: "252" });
    const refused = hermes(["install-service", "--dry-run", "--user", "--home", home], {
      env,
      runtime: "node",
    });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe("");
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toContain("--binary");
    const given = hermes(["install-service", "--dry-run", "--user", "--home", home, "--binary", BINARY], {
      env,
      runtime: "node",
    });
    expect(given.code, given.stderr).toBe(0);
    expect(given.stdout).toBe(rendered({ kind: "user", home, binary: BINARY }));
  });

  it("root is refused for a system unit unless asked for by name", () => {
    if (!IS_ROOT) {
      console.warn("skipping: only root can be refused as the default run-as user (tests run as non-root)");
      return;
    }
    const home = tempDir();
    const env = cleanEnv({ HERMES_SYSTEMD_VERSION: "252" });
    for (const dry of [["--dry-run"], []]) {
      const run = hermes(["install-service", "--system", "--home", home, ...dry], { env });
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr).toContain("runs the gateway as root");
      expect(run.stderr).toContain("--run-as-user root");
    }
    const named = hermes(
      ["install-service", "--dry-run", "--system", "--run-as-user", "root", "--home", home],
      {
        env,
      },
    );
    expect(named.code, named.stderr).toBe(0);
    expect(named.stdout).toContain("\nUser=root\n");
  });

  it("under sudo a system unit runs as the user who called sudo, in that user's home", () => {
    if (!IS_ROOT) {
      console.warn("skipping: SUDO_USER is only honoured when running as root");
      return;
    }
    const nobody = spawnSync("getent", ["passwd", "nobody"], { encoding: "utf8" }).stdout.split(":");
    const env = cleanEnv({ HERMES_SYSTEMD_VERSION: "252", SUDO_USER: "nobody" });
    const run = hermes(["install-service", "--dry-run", "--system"], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("\nUser=nobody\n");
    expect(run.stdout).toContain(`\nEnvironment=HERMES_HOME=${nobody[5]}/.hermes\n`);
  });

  it("usage errors exit 2", () => {
    const env = cleanEnv({ HERMES_SYSTEMD_VERSION: "252" });
    const other = ME === "nobody" ? "daemon" : "nobody";
    for (const [flags, message] of [
      [["--user", "--system"], "exclude each other"],
      [["--user", "--run-as-user", other], "--run-as-user is for system units"],
      [["--system", "--run-as-user", "no-such-user-hermes"], 'no user "no-such-user-hermes"'],
      [["--user", "--name", "a b"], "--name"],
      [["--user", "--component", "web"], "--component (web)"],
      [["--user", "--binary", "no/such/hermes"], "is not an executable file"],
    ] as const) {
      const run = hermes(["install-service", "--dry-run", ...flags], { env });
      expect(run.code, flags.join(" ")).toBe(2);
      expect(run.stderr).toContain(message);
      expect(run.stdout).toBe("");
    }
  });
});

describe("install-service", () => {
  it("writes the unit, reloads, enables, starts, waits for READY and says what to do next", () => {
    const fake = fakeSystemd();
    const home = join(tempDir(), "bot home");
    const run = hermes(["install-service", "--user", "--home", home], { env: fake.env });
    expect(run.code, run.stderr).toBe(0);
    const text = readFileSync(fake.unit(), "utf8");
    expect(text).toBe(rendered({ kind: "user", home, systemdVersion: 255 }));
    expect(statSync(fake.unit()).mode & 0o777).toBe(0o644);
    expect(statSync(home).mode & 0o777).toBe(0o700);
    expect(fake.calls()).toEqual([
      "--version",
      "--user show --no-pager -p ActiveState,InvocationID hermes-gateway.service",
      "--user daemon-reload",
      "--user enable hermes-gateway.service",
      "--user --no-block start hermes-gateway.service",
      "--user show --no-pager -p ActiveState,SubState,Result,ExecMainCode,ExecMainStatus,InvocationID hermes-gateway.service",
      `loginctl show-user ${ME} -p Linger`,
    ]);
    expect(run.stdout).toContain(`wrote ${fake.unit()}`);
    expect(run.stdout).toContain("installed, enabled and running");
    expect(run.stdout).toContain("journalctl --user -u hermes-gateway.service -f");
    expect(run.stdout).toContain("systemctl --user status hermes-gateway.service");
    expect(run.stdout).toContain("hermes uninstall-service --user");
    expect(run.stderr).toContain(`linger is off for ${ME}`);
    expect(run.stderr).toContain(`sudo loginctl enable-linger ${ME}`);

    // Once more as it is: nothing to do.
    const again = hermes(["install-service", "--user", "--home", home], { env: fake.env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("nothing changed");
    expect(fake.calls().filter((c) => c.includes("daemon-reload"))).toHaveLength(1);
  });

  it("over its own unit it shows the diff, replaces it and restarts the running service", () => {
    const fake = fakeSystemd({ FAKE_LINGER: "yes" });
    const home = makeHome({ config: "gateway:\n  drain_timeout: 30s\n" });
    expect(hermes(["install-service", "--user", "--home", home], { env: fake.env }).code).toBe(0);
    writeFileSync(join(home, "config.yaml"), "gateway:\n  drain_timeout: 2m\n");
    const run = hermes(["install-service", "--user", "--home", home], { env: fake.env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`--- ${fake.unit()} (installed)`);
    expect(run.stdout).toMatch(/^-TimeoutStopSec=45$/m);
    expect(run.stdout).toMatch(/^\+TimeoutStopSec=135$/m);
    expect(run.stdout).toContain(`replaced ${fake.unit()}`);
    expect(fake.calls()).toContain("--user --no-block restart hermes-gateway.service");
    expect(run.stderr).not.toContain("linger");
  });

  it("refuses a configuration with lint errors, writing nothing, unless --force", () => {
    const fake = fakeSystemd({
      DISCORD_BOT_TOKEN: "MTAzNTU3Mzg5NDcxOTEyNzU1Mg.GhT4xQ.k9VbN2mX8zR5tY1wE4uI7oP0aS6dFgHjKlZxCv",
    });
    const home = makeHome({ config: "platforms:\n  discord:\n    enabled: true\n" });
    const run = hermes(["install-service", "--user", "--home", home], { env: fake.env });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("[missing-token]");
    expect(run.stderr).toContain("Refusing to install");
    // The token is in this shell, not in .env: the service would not have it, and the note says so.
    expect(run.stderr).toContain("this shell's environment");
    expect(run.stderr).not.toContain("k9VbN2mX8zR5tY1wE4uI7oP0aS6dFgHjKlZxCv");
    expect(readdirSync(fake.units)).toEqual([]);
    expect(fake.calls().some((c) => c.includes("daemon-reload"))).toBe(false);

    const forced = hermes(["install-service", "--user", "--home", home, "--force"], { env: fake.env });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toContain("--force");
    expect(existsSync(fake.unit())).toBe(true);
    expect(fake.calls()).toContain("--user daemon-reload");
  });

  it("over a unit it did not write (upstream's) it explains, and replaces it only with --force", () => {
    const fake = fakeSystemd();
    const home = makeHome();
    writeFileSync(fake.unit(), UPSTREAM_UNIT);
    const run = hermes(["install-service", "--user", "--home", home], { env: fake.env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("was not written by hermes install-service");
    expect(run.stderr).toContain("hermes_cli.main gateway run --replace");
    expect(run.stderr).toContain("upstream's Python gateway");
    expect(run.stderr).toContain("--force");
    expect(readFileSync(fake.unit(), "utf8")).toBe(UPSTREAM_UNIT);
    expect(fake.calls().some((c) => c.includes("daemon-reload"))).toBe(false);

    const forced = hermes(["install-service", "--user", "--home", home, "--force"], { env: fake.env });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain("-ExecStart=/home/alice/.hermes/hermes-agent/venv/bin/python");
    expect(forced.stdout).toContain(`+ExecStart=${REAL_BINARY} gateway run`);
    expect(readFileSync(fake.unit(), "utf8")).toBe(rendered({ kind: "user", home, systemdVersion: 255 }));
  });

  it("reports a service that fails to start, with what the exit status means", () => {
    const fake = fakeSystemd();
    writeFileSync(join(fake.state, "exit-status"), "78");
    const run = hermes(["install-service", "--user", "--home", makeHome()], { env: fake.env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("hermes-gateway.service did not start");
    expect(run.stderr).toContain("exit status 78");
    expect(run.stderr).toContain("configuration cannot be used");
    expect(run.stderr).toContain("journalctl --user -u hermes-gateway.service");
  });

  it("--no-start enables without starting", () => {
    const fake = fakeSystemd();
    const run = hermes(["install-service", "--user", "--home", makeHome(), "--no-start"], { env: fake.env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("not started (--no-start)");
    expect(fake.calls()).toContain("--user enable hermes-gateway.service");
    expect(fake.calls().some((c) => / (start|restart) /.test(` ${c} `))).toBe(false);
  });

  it("refuses a second unit of the same component on the same home", () => {
    const fake = fakeSystemd();
    const home = makeHome();
    expect(hermes(["install-service", "--user", "--home", home], { env: fake.env }).code).toBe(0);
    const twin = hermes(["install-service", "--user", "--home", home, "--name", "two"], { env: fake.env });
    expect(twin.code).toBe(1);
    expect(twin.stderr).toContain("hermes-gateway.service already runs a gateway");
    expect(existsSync(fake.unit("hermes-gateway-two.service"))).toBe(false);
    // A scheduler beside the gateway on the same home is how it is meant to be.
    const cron = hermes(["install-service", "--user", "--home", home, "--component", "cron"], {
      env: fake.env,
    });
    expect(cron.code, cron.stderr).toBe(0);
    expect(readFileSync(fake.unit("hermes-cron.service"), "utf8")).toContain(" cron serve\n");
  });

  it("refuses a system unit whose user could not execute the binary", () => {
    if (!IS_ROOT) {
      console.warn("skipping: only root can install a system unit for another user");
      return;
    }
    const fake = fakeSystemd();
    const hidden = tempDir(); // 0700, root's
    const binary = join(hidden, "hermes");
    writeFileSync(binary, "#!/bin/sh\n", { mode: 0o755 });
    const args = [
      "install-service",
      "--system",
      "--run-as-user",
      "nobody",
      "--home",
      tempDir(),
      "--binary",
      binary,
    ];
    const run = hermes(args, { env: fake.env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`nobody cannot execute ${binary}`);
    expect(readdirSync(fake.units)).toEqual([]);
  });

  it("without a running systemd it writes nothing and points to --dry-run", () => {
    if (existsSync("/run/systemd/system")) {
      console.warn("skipping: systemd runs on this machine, so its absence cannot be shown here");
      return;
    }
    const units = tempDir();
    const home = join(tempDir(), "home");
    const run = hermes(["install-service", "--user", "--home", home], {
      env: cleanEnv({ HERMES_SYSTEMD_UNIT_DIR: units }),
    });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toContain("systemd is not running");
    expect(run.stderr).toContain("--dry-run");
    expect(readdirSync(units)).toEqual([]);
    expect(existsSync(home)).toBe(false);
  });
});

describe("uninstall-service", () => {
  it("says so when there is nothing to remove", () => {
    const fake = fakeSystemd();
    const run = hermes(["uninstall-service", "--user"], { env: fake.env });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("nothing to remove");
    expect(fake.calls()).toEqual([]);
  });

  it("stops, disables and removes the unit it wrote, then reloads", () => {
    const fake = fakeSystemd();
    const home = makeHome();
    expect(
      hermes(["install-service", "--user", "--home", home, "--name", "eu"], { env: fake.env }).code,
    ).toBe(0);
    const before = fake.calls().length;
    const run = hermes(["uninstall-service", "--user", "--name", "eu"], { env: fake.env });
    expect(run.code, run.stderr).toBe(0);
    expect(fake.calls().slice(before)).toEqual([
      "--user stop hermes-gateway-eu.service",
      "--user disable hermes-gateway-eu.service",
      "--user daemon-reload",
      "--user reset-failed hermes-gateway-eu.service",
    ]);
    expect(existsSync(fake.unit("hermes-gateway-eu.service"))).toBe(false);
    expect(run.stdout).toContain(`removed ${fake.unit("hermes-gateway-eu.service")}`);
    expect(run.stdout).toContain(`HERMES_HOME ${home} is left as it is`);
    expect(existsSync(home)).toBe(true);
  });

  it("without a running systemd it still removes the file and its .wants link, and says what it could not do", () => {
    if (existsSync("/run/systemd/system")) {
      console.warn("skipping: systemd runs on this machine, so its absence cannot be shown here");
      return;
    }
    const fake = fakeSystemd();
    expect(hermes(["install-service", "--user", "--home", makeHome()], { env: fake.env }).code).toBe(0);
    mkdirSync(join(fake.units, "default.target.wants"));
    const link = join(fake.units, "default.target.wants", "hermes-gateway.service");
    symlinkSync(fake.unit(), link);
    const before = fake.calls().length;
    const env = cleanEnv({ HERMES_SYSTEMD_UNIT_DIR: fake.units });
    const run = hermes(["uninstall-service", "--user"], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(fake.unit())).toBe(false);
    expect(existsSync(link)).toBe(false);
    expect(run.stdout).toContain(`removed ${link}`);
    expect(run.stderr).toContain("systemd is not running here");
    expect(fake.calls()).toHaveLength(before);
  });

  it("leaves a unit it did not write alone unless --force", () => {
    const fake = fakeSystemd();
    writeFileSync(fake.unit(), UPSTREAM_UNIT);
    const run = hermes(["uninstall-service", "--user"], { env: fake.env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("not written by hermes");
    expect(existsSync(fake.unit())).toBe(true);
    const forced = hermes(["uninstall-service", "--user", "--force"], { env: fake.env });
    expect(forced.code, forced.stderr).toBe(0);
    expect(existsSync(fake.unit())).toBe(false);
  });
});
