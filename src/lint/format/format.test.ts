import { describe, expect, it } from "vitest";
import type { Diagnostic } from "../diagnostic.ts";
import { summarize } from "../diagnostic.ts";
import { formatGithub } from "./github.ts";
import { ANSI, formatHuman, PLAIN } from "./human.ts";
import { formatJson } from "./json.ts";
import { formatSarif } from "./sarif.ts";

const diagnostics: Diagnostic[] = [
  {
    rule: "missing-token",
    severity: "error",
    message: 'platform "discord" is enabled but its bot token is missing: DISCORD_BOT_TOKEN is not set',
    hint: "set DISCORD_BOT_TOKEN in /home/u/.hermes/.env",
    file: "/home/u/.hermes/config.yaml",
    path: "platforms.discord",
    line: 12,
    column: 3,
    platform: "discord",
  },
  {
    rule: "file-permissions",
    severity: "warning",
    message: "a, b: 100% readable",
    file: "/home/u/.hermes/.env",
    path: null,
    line: null,
    column: null,
  },
  {
    rule: "env-auto-enable",
    severity: "info",
    message: "x",
    file: null,
    path: "SLACK_BOT_TOKEN",
    line: null,
    column: null,
  },
];

describe("formats", () => {
  it("json has the documented shape", () => {
    const parsed = JSON.parse(formatJson(diagnostics, summarize(diagnostics)));
    expect(parsed).toEqual({
      version: 1,
      summary: { errors: 1, warnings: 1, infos: 1 },
      diagnostics: [
        {
          rule: "missing-token",
          severity: "error",
          message: diagnostics[0]!.message,
          hint: diagnostics[0]!.hint,
          file: "/home/u/.hermes/config.yaml",
          path: "platforms.discord",
          line: 12,
          column: 3,
        },
        expect.objectContaining({ rule: "file-permissions", hint: null, line: null }),
        expect.objectContaining({ rule: "env-auto-enable", file: null }),
      ],
    });
  });

  it("human puts file:line:col, severity and rule first, the hint below, and a summary", () => {
    const text = formatHuman(diagnostics, summarize(diagnostics), ["/home/u/.hermes/config.yaml"], PLAIN);
    const lines = text.split("\n");
    expect(lines[0]).toBe(
      `/home/u/.hermes/config.yaml:12:3: error [missing-token] ${diagnostics[0]!.message}`,
    );
    expect(lines[1]).toBe("  hint: set DISCORD_BOT_TOKEN in /home/u/.hermes/.env");
    expect(lines[2]).toBe("/home/u/.hermes/.env: warning [file-permissions] a, b: 100% readable");
    expect(lines[3]).toBe("(environment): info [env-auto-enable] x");
    expect(text.trimEnd().split("\n").at(-1)).toBe(
      "1 error, 1 warning, 1 info in /home/u/.hermes/config.yaml",
    );
    expect(text).not.toContain("\u001b[");
    expect(formatHuman(diagnostics, summarize(diagnostics), [], ANSI)).toContain("\u001b[31merror");
    expect(formatHuman([], summarize([]), ["/x/config.yaml"], PLAIN)).toBe(
      "/x/config.yaml: no problems found\n",
    );
  });

  it("sarif is 2.1.0 with every rule and each result located", () => {
    const log = JSON.parse(formatSarif(diagnostics));
    expect(log.version).toBe("2.1.0");
    const run = log.runs[0];
    expect(run.tool.driver.name).toBe("hermes");
    expect(run.tool.driver.rules.map((r: { id: string }) => r.id)).toContain("missing-token");
    expect(run.results[0]).toMatchObject({
      ruleId: "missing-token",
      level: "error",
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: "file:///home/u/.hermes/config.yaml" },
            region: { startLine: 12, startColumn: 3 },
          },
        },
      ],
    });
    expect(run.tool.driver.rules[run.results[0].ruleIndex].id).toBe("missing-token");
    expect(run.results[1].level).toBe("warning");
    expect(run.results[1].locations[0].physicalLocation.region).toBeUndefined();
    expect(run.results[2]).toMatchObject({ level: "note" });
    expect(run.results[2].locations).toBeUndefined();
  });

  it("github emits workflow commands with escaped properties and data", () => {
    const lines = formatGithub(diagnostics).trimEnd().split("\n");
    expect(lines[0]).toBe(
      `::error file=/home/u/.hermes/config.yaml,line=12,col=3,title=hermes [missing-token]::${diagnostics[0]!.message}%0Ahint: set DISCORD_BOT_TOKEN in /home/u/.hermes/.env`,
    );
    expect(lines[1]).toBe(
      "::warning file=/home/u/.hermes/.env,title=hermes [file-permissions]::a, b: 100%25 readable",
    );
    expect(lines[2]).toBe("::notice title=hermes [env-auto-enable]::x");
  });
});
