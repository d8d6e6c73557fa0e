/**
 * Real units, judged: upstream's generated units across its history, OpenClaw's, and hermes's own. For each,
 * exactly the rules it must break, and so the ones it must not.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { allRules } from "../../src/lint/catalog.ts";
import { ROOT } from "../helpers/cli.ts";
import { lintUnitFiles } from "../helpers/units.ts";

const DIR = join(ROOT, "test", "fixtures", "units");
const SERVICE_RULES = allRules("service").map((r) => r.id);

const EXPECTED: Record<string, string[]> = {
  // --replace, exit 0 dead under on-failure, no 75, no 78, TimeoutStopSec=15 under the 40 s deadline.
  "upstream-march.service": [
    "service-replace-flag",
    "service-exit-75",
    "service-restart-policy",
    "service-exit-78",
    "service-stop-timeout",
  ],
  // Restart=always, RestartForceExitStatus=75 and StartLimitIntervalSec=0 arrived; 78 had not yet.
  "upstream-june.service": ["service-exit-78"],
  "upstream-s2.service": ["service-exit-78"],
  // Its restarts exit 0, so nothing lists 75; 10 starts in 300 s with RestartSec=5 gives up for good.
  "openclaw.service": ["service-exit-75", "service-start-limit"],
  "hermes-gateway.service": [],
};

describe("unit fixtures", () => {
  for (const [name, must] of Object.entries(EXPECTED)) {
    it(`${name}: ${must.length === 0 ? "lints clean" : must.join(", ")}, and nothing else`, () => {
      const text = readFileSync(join(DIR, name), "utf8");
      // Installed under a scratch root that has the programs the unit starts, as the machine it was made on.
      const found = [...new Set(lintUnitFiles([{ name, text }]).map((d) => d.rule))].sort();
      const mustNot = SERVICE_RULES.filter((r) => !must.includes(r));
      for (const rule of must) expect(found, `${name} must break ${rule}`).toContain(rule);
      for (const rule of mustNot) expect(found, `${name} must not break ${rule}`).not.toContain(rule);
    });
  }

  it("a unit whose program is not on this machine also breaks service-exec-path", () => {
    const text = readFileSync(join(DIR, "upstream-s2.service"), "utf8");
    const found = lintUnitFiles([{ name: "upstream-s2.service", text }], { binaries: false });
    expect(found.map((d) => d.rule).sort()).toEqual(["service-exec-path", "service-exit-78"]);
    expect(found.find((d) => d.rule === "service-exec-path")?.message).toContain(
      "/home/alice/.hermes/hermes-agent/venv/bin/python, which does not exist",
    );
  });

  it("upstream's March unit, fixed as docs/lint.md says, lints clean", () => {
    const text = readFileSync(join(DIR, "upstream-march.service"), "utf8")
      .replace(" --replace", "")
      .replace("Restart=on-failure", "Restart=always")
      .replace(
        "TimeoutStopSec=15",
        "TimeoutStopSec=60\nRestartForceExitStatus=75\nSuccessExitStatus=75\nRestartPreventExitStatus=78",
      );
    expect(lintUnitFiles([{ name: "upstream-march.service", text }])).toEqual([]);
  });
});

it("the drop-in docs/lint.md gives makes every foreign unit lint clean", () => {
  const docs = readFileSync(join(ROOT, "docs", "lint.md"), "utf8");
  const section = docs.slice(docs.indexOf("## Fixing upstream's units"));
  const dropIn = /```ini\n([\s\S]*?)```/.exec(section)?.[1];
  expect(dropIn).toBeDefined();
  for (const name of [
    "upstream-march.service",
    "upstream-june.service",
    "upstream-s2.service",
    "openclaw.service",
  ]) {
    const text = readFileSync(join(DIR, name), "utf8");
    const found = lintUnitFiles([
      { name, text },
      { name: `${name}.d/override.conf`, text: dropIn! },
    ]);
    expect(found, name).toEqual([]);
  }
});
