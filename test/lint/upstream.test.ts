/**
 * Upstream's real example files and configs in the shape upstream users have: hermes reads them without
 * crashing, reports upstream-only keys as warnings, and finds the problems upstream would have crashed on.
 * Each fixture's expected.json is the exact report (severity, rule, path, line).
 */
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.ts";
import { makeHome } from "../helpers/home.ts";
import { lintHome } from "../helpers/lint.ts";

const DIR = join(ROOT, "test", "fixtures", "upstream");
const fixtures = readdirSync(DIR).filter((f) => existsSync(join(DIR, f, "config.yaml")));

function report(name: string) {
  const home = makeHome();
  for (const file of ["config.yaml", ".env"]) {
    if (existsSync(join(DIR, name, file))) {
      cpSync(join(DIR, name, file), join(home, file));
      // As a user's home has them (a checkout's modes depend on the umask).
      chmodSync(join(home, file), 0o600);
    }
  }
  return lintHome(home).map((d) => [d.severity, d.rule, d.path, d.line]);
}

describe("upstream configurations", () => {
  it("has the fixtures", () => {
    expect(fixtures.sort()).toEqual(["anchor-s7", "discord-no-token", "example", "telegram-only"]);
  });

  for (const name of fixtures) {
    it(`${name}: the report is exactly the expected one`, () => {
      const actual = report(name);
      const expectedFile = join(DIR, name, "expected.json");
      if (process.env.HERMES_UPDATE_FIXTURES === "1")
        writeFileSync(expectedFile, `[\n${actual.map((r) => `  ${JSON.stringify(r)}`).join(",\n")}\n]\n`);
      expect(actual).toEqual(JSON.parse(readFileSync(expectedFile, "utf8")));
    });
  }

  it("upstream's own example has no errors: only upstream-key warnings", () => {
    const rows = report("example");
    expect(rows.filter((r) => r[0] === "error")).toEqual([]);
    expect(new Set(rows.map((r) => r[1]))).toEqual(new Set(["upstream-key"]));
    expect(rows.length).toBeGreaterThan(20);
  });

  it("the Discord block without its token is the missing-token error at the block's line", () => {
    expect(report("discord-no-token")).toContainEqual(["error", "missing-token", "discord", 7]);
  });

  it("upstream's placeholder tokens are caught", () => {
    const rows = report("anchor-s7");
    expect(rows).toContainEqual(["error", "token-placeholder", "TELEGRAM_BOT_TOKEN", 2]);
    expect(rows).toContainEqual(["error", "token-placeholder", "DISCORD_BOT_TOKEN", 5]);
    expect(rows.some((r) => r[1] === "unknown-key" || r[1] === "type-mismatch")).toBe(false);
  });
});
