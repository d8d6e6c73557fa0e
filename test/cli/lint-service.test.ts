/** `hermes lint service` through the compiled binary: exit codes, formats, installed units, unreadable files. */
import { existsSync, readdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { allRules } from "../../src/lint/catalog.ts";
import { BINARY, cleanEnv, hermes, type LintReport } from "../helpers/cli.ts";
import { tempDir, writeFile } from "../helpers/home.ts";

const MARCH = "test/fixtures/units/upstream-march.service";
const MARCH_RULES = [
  "service-exec-path",
  "service-exit-75",
  "service-exit-78",
  "service-replace-flag",
  "service-restart-policy",
  "service-stop-timeout",
];

/**
 * A unit that lints clean on this machine: it starts the hermes binary under test, with an empty home of its
 * own unless `home` is null (then the gateway would use the ~/.hermes of whoever runs it).
 */
const clean = (extra = "", home: string | null = tempDir()) => `[Unit]
Description=hermes
StartLimitIntervalSec=0

[Service]
Type=notify
NotifyAccess=main
WatchdogSec=60
ExecStart=${BINARY} gateway run
Restart=always
RestartSec=10
SuccessExitStatus=75
RestartForceExitStatus=75
RestartPreventExitStatus=78
TimeoutStopSec=60
${home === null ? "" : `Environment=HERMES_HOME=${home}\n`}${extra}`;

const json = (args: string[], env?: Record<string, string>) => {
  const run = hermes(["lint", "service", "--format", "json", ...args], { env });
  return { ...run, report: JSON.parse(run.stdout) as LintReport };
};

describe("hermes lint service FILE", () => {
  it("exits 0 and says so for a unit without problems", () => {
    const file = writeFile(tempDir(), "hermes-gateway.service", clean());
    const run = hermes(["lint", "service", file]);
    expect(run).toEqual({ code: 0, stdout: `${file}: no problems found\n`, stderr: "" });
  });

  it("exits 1 for upstream's March unit, with the findings in the documented json shape", () => {
    const { code, report, stderr } = json([MARCH]);
    expect(code).toBe(1);
    expect(stderr).toBe("");
    expect(report.version).toBe(1);
    expect(report.summary).toEqual({ errors: MARCH_RULES.length, warnings: 0, infos: 0 });
    expect(report.diagnostics.map((d) => d.rule).sort()).toEqual(MARCH_RULES);
    expect(report.diagnostics.find((d) => d.rule === "service-replace-flag")).toEqual({
      rule: "service-replace-flag",
      severity: "error",
      message: expect.stringContaining("--replace"),
      hint: expect.any(String),
      file: join(process.cwd(), MARCH),
      path: "Service.ExecStart",
      line: 7,
      column: 91,
    });
  });

  it("prints file:line:col findings and the summary line in human format", () => {
    const run = hermes(["lint", "service", MARCH]);
    expect(run.code).toBe(1);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines).toContain(
      `${MARCH}:7:91: error [service-replace-flag] ExecStart= passes --replace: on every restart the new process kills the old one, which systemd is still stopping, and the two fight over the lock; systemd already guarantees one instance`,
    );
    expect(lines.at(-1)).toBe(`${MARCH_RULES.length} errors, 0 warnings, 0 infos in ${MARCH}`);
  });

  it("writes SARIF 2.1.0 describing the service rules, and GitHub annotations", () => {
    const sarif = JSON.parse(hermes(["lint", "service", MARCH, "--format", "sarif"]).stdout);
    expect(sarif.version).toBe("2.1.0");
    const driver = sarif.runs[0].tool.driver;
    expect(driver.rules.map((r: { id: string }) => r.id)).toEqual(allRules("service").map((r) => r.id));
    expect(driver.rules[0].help.text).toBe("Run: hermes lint service --explain service-replace-flag");
    const results = sarif.runs[0].results as { ruleId: string; ruleIndex: number; locations: unknown[] }[];
    expect(results.map((r) => r.ruleId).sort()).toEqual(MARCH_RULES);
    for (const r of results) expect(driver.rules[r.ruleIndex].id).toBe(r.ruleId);

    const github = hermes(["lint", "service", MARCH, "--format", "github"]);
    expect(github.code).toBe(1);
    const annotations = github.stdout.trimEnd().split("\n");
    expect(annotations).toHaveLength(MARCH_RULES.length);
    expect(annotations).toContain(
      `::error file=${MARCH},line=16,col=1,title=hermes [service-stop-timeout]::${
        json([MARCH]).report.diagnostics.find((d) => d.rule === "service-stop-timeout")!.message
      }%0Ahint: set TimeoutStopSec=45 in [Service] (anything above 40 s)`,
    );
  });

  it("fails on warnings only with --strict", () => {
    const file = writeFile(tempDir(), "hermes-gateway.service", clean("RestartSecs=10\n"));
    const lax = json([file]);
    expect(lax.code).toBe(0);
    expect(lax.report.summary).toEqual({ errors: 0, warnings: 1, infos: 0 });
    expect(lax.report.diagnostics[0]).toMatchObject({ rule: "service-unknown-key", line: 17 });
    expect(hermes(["lint", "service", "--strict", file]).code).toBe(1);
  });

  it("lints several files in one run and names them all in the summary", () => {
    const good = writeFile(tempDir(), "hermes-gateway.service", clean());
    const run = hermes(["lint", "service", good, MARCH]);
    expect(run.code).toBe(1);
    expect(run.stdout.trimEnd().split("\n").at(-1)).toBe(
      `${MARCH_RULES.length} errors, 0 warnings, 0 infos in ${good} and ${MARCH}`,
    );
  });

  it("applies the drop-ins next to a named unit", () => {
    const dir = tempDir();
    const file = writeFile(dir, "hermes-gateway.service", clean());
    const dropIn = writeFile(
      dir,
      "hermes-gateway.service.d/10-restart.conf",
      "[Service]\nRestart=on-failure\n",
    );
    const { code, report } = json([file]);
    expect(code).toBe(1);
    expect(report.diagnostics).toEqual([
      expect.objectContaining({
        rule: "service-restart-policy",
        file: dropIn,
        line: 2,
        path: "Service.Restart",
      }),
    ]);
  });

  it("reads the drain timeout from --home", () => {
    const file = writeFile(tempDir(), "hermes-gateway.service", clean());
    const home = tempDir();
    writeFile(home, "config.yaml", "gateway:\n  drain_timeout: 2m\n");
    const { code, report } = json([file, "--home", home]);
    expect(code).toBe(1);
    expect(report.diagnostics[0]?.message).toContain(`gateway.drain_timeout in ${join(home, "config.yaml")}`);
  });

  it("exits 2 naming a file that is missing or is a directory, and for a bad --format", () => {
    const dir = tempDir();
    const missing = hermes(["lint", "service", join(dir, "nope.service")]);
    expect(missing).toEqual({
      code: 2,
      stdout: "",
      stderr: `The unit file ${join(dir, "nope.service")} does not exist\n`,
    });
    const directory = hermes(["lint", "service", dir]);
    expect(directory.code).toBe(2);
    expect(directory.stderr).toBe(`The unit file ${dir} is a directory, not a file\n`);
    const format = hermes(["lint", "service", MARCH, "--format", "xml"]);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain("--format must be one of human, json, sarif, github");
  });
});

describe("hermes lint service (the installed units)", () => {
  // The system directory is the real one; a hermes unit installed there would be linted too.
  const systemUnits = existsSync("/etc/systemd/system")
    ? readdirSync("/etc/systemd/system").filter((n) => /^hermes-(gateway|cron).*\.service$/.test(n))
    : [];
  if (systemUnits.length > 0)
    console.log(`skipping the installed-unit tests: /etc/systemd/system has ${systemUnits.join(", ")}`);

  it.runIf(systemUnits.length === 0)("with none installed, exits 2 and says to name a file", () => {
    const home = tempDir();
    const run = hermes(["lint", "service"], { env: cleanEnv({ HOME: home }) });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      `No hermes units are installed in /etc/systemd/system or ${home}/.config/systemd/user; name the unit files to check: hermes lint service FILE...\n`,
    );
  });

  it.runIf(systemUnits.length === 0)(
    "lints the user's hermes units with their drop-ins and home, and skips a masked one",
    () => {
      const home = tempDir();
      const dir = join(home, ".config", "systemd", "user");
      const gateway = writeFile(dir, "hermes-gateway.service", clean("", null));
      const dropIn = writeFile(
        dir,
        "hermes-gateway.service.d/override.conf",
        "[Service]\nRestart=on-failure\n",
      );
      writeFile(dir, "unrelated.service", "[Service]\nExecStart=relative\n");
      symlinkSync("/dev/null", join(dir, "hermes-cron.service"));
      // A user unit runs with the user's ~/.hermes, whose drain is longer than the unit's stop timeout.
      writeFile(home, ".hermes/config.yaml", "gateway:\n  drain_timeout: 5m\n");
      const { code, report, stderr } = json([], cleanEnv({ HOME: home }));
      expect(code).toBe(1);
      expect(stderr).toBe(`${join(dir, "hermes-cron.service")} is masked (a link to /dev/null); skipped.\n`);
      expect(report.diagnostics.map((d) => [d.rule, d.file])).toEqual([
        ["service-stop-timeout", gateway],
        ["service-restart-policy", dropIn],
      ]);
      expect(report.diagnostics[0]?.message).toContain(`${home}/.hermes/config.yaml`);
    },
  );
});

describe("the units install-service writes", () => {
  const cases = [
    { kind: "--system", version: "252", extra: ["--run-as-user", "root"] },
    { kind: "--system", version: "255", extra: ["--run-as-user", "root", "--name", "work"] },
    { kind: "--user", version: "252", extra: [] },
    { kind: "--user", version: "255", extra: ["--component", "cron"] },
  ];
  for (const c of cases) {
    it(`lint clean: ${c.kind} on systemd ${c.version} ${c.extra.join(" ")}`, () => {
      const home = tempDir();
      const rendered = hermes(
        ["install-service", "--dry-run", c.kind, "--home", home, "--binary", BINARY, ...c.extra],
        { env: { ...cleanEnv(), HERMES_SYSTEMD_VERSION: c.version } },
      );
      expect(rendered.code).toBe(0);
      const unit = writeFile(tempDir(), "hermes-test.service", rendered.stdout);
      const report = hermes(["lint", "service", unit, "--home", home, "--format", "json"]);
      expect(JSON.parse(report.stdout).diagnostics).toEqual([]);
      expect(report.code).toBe(0);
    });
  }
});
