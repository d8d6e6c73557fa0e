/**
 * Every lint rule has a page in lint/rules/<id>.md; its "Bad" examples must trigger the rule and its "Good"
 * examples must not. The pages are what `--explain` prints, so they cannot drift from the code.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import { allRules } from "../../src/lint/catalog.ts";
import { lintOnline } from "../../src/lint/online.ts";
import { RULE_PAGES } from "../../src/lint/pages.gen.ts";
import { lintLoaded } from "../../src/lint/run.ts";
import { hermes, ROOT } from "../helpers/cli.ts";
import { makeHome } from "../helpers/home.ts";
import { lintHome } from "../helpers/lint.ts";
import { lintUnitFiles } from "../helpers/units.ts";
import { TelegramTestServer } from "../kit/telegram-server.ts";

const DIR = join(ROOT, "lint", "rules");

/** The rules `lint config --online` finds, for a home whose platforms (without an api_base) ask a test server. */
async function lintHomeOnline(home: string, token: string): Promise<string[]> {
  const server = await TelegramTestServer.start(token);
  try {
    const load = loadConfig({ home, env: {} });
    for (const p of load.platforms)
      if (p.block && p.block.api_base === undefined) p.block.api_base = server.url;
    const offline = lintLoaded(load);
    const online = await lintOnline(load, offline, { timeoutMs: 5000 });
    return [...offline, ...online.diagnostics].map((d) => d.rule);
  } finally {
    await server.close();
  }
}

interface Example {
  kind: "bad" | "good";
  title: string;
  config?: string;
  env?: string;
  /** `cron/jobs.json`. */
  jobs?: string;
  configMode?: number;
  envMode?: number;
  /** Unit files and drop-ins (`hermes-gateway.service.d/x.conf`), for the service-* rules. */
  units: { name: string; text: string }[];
}

function parsePage(text: string): {
  title: string;
  severity: string;
  sections: string[];
  examples: Example[];
} {
  const lines = text.split("\n");
  const title = lines[0]?.replace(/^# /, "") ?? "";
  const severity = /^\*\*Severity:\*\* (.+)$/m.exec(text)?.[1] ?? "";
  const sections = lines.filter((l) => l.startsWith("## ")).map((l) => l.slice(3));
  const examples: Example[] = [];
  let current: Example | undefined;
  let fence: { file: string; mode?: number; body: string[] } | undefined;
  for (const line of lines) {
    if (fence) {
      if (line.startsWith("```")) {
        const body = `${fence.body.join("\n")}\n`;
        if (current && /\.service(\.d\/[^/]+\.conf)?$/.test(fence.file)) {
          current.units.push({ name: fence.file, text: body });
        } else if (current && fence.file === "config.yaml") {
          current.config = body;
          current.configMode = fence.mode;
        } else if (current && fence.file === "cron/jobs.json") {
          current.jobs = body;
        } else if (current && fence.file === ".env") {
          current.env = body;
          current.envMode = fence.mode;
        }
        fence = undefined;
      } else fence.body.push(line);
      continue;
    }
    const heading = /^## (Bad|Good)\b:?\s*(.*)$/.exec(line);
    if (heading) {
      current = { kind: heading[1] === "Bad" ? "bad" : "good", title: heading[2] ?? "", units: [] };
      examples.push(current);
      continue;
    }
    if (line.startsWith("## ")) current = undefined;
    const open =
      /^```\w*\s+(config\.yaml|\.env|cron\/jobs\.json|[\w@.-]+\.service(?:\.d\/[\w@.-]+\.conf)?)(?:\s+mode=(0?[0-7]{3,4}))?\s*$/.exec(
        line,
      );
    if (open) fence = { file: open[1]!, mode: open[2] ? Number.parseInt(open[2], 8) : undefined, body: [] };
    else if (line.startsWith("```")) fence = { file: "", body: [] };
  }
  return { title, severity, sections, examples };
}

const pages = readdirSync(DIR).filter((f) => f.endsWith(".md"));

describe("rule pages", () => {
  it("exist for every rule, and every page belongs to a rule", () => {
    const ids = allRules()
      .map((r) => r.id)
      .sort();
    expect(pages.map((f) => f.slice(0, -3)).sort()).toEqual(ids);
  });

  it("are embedded as they are on disk (npm run gen)", () => {
    for (const file of pages)
      expect(RULE_PAGES[file.slice(0, -3)]).toBe(readFileSync(join(DIR, file), "utf8"));
  });

  for (const rule of allRules()) {
    describe(rule.id, () => {
      const file = join(DIR, `${rule.id}.md`);
      const text = existsSync(file) ? readFileSync(file, "utf8") : "";
      const page = parsePage(text);

      it("has a title, the catalog's severity, and the sections a reader needs", () => {
        expect(page.title).toBe(rule.id);
        expect(page.severity.startsWith(rule.severity)).toBe(true);
        expect(page.sections).toEqual(expect.arrayContaining(["Why", "How to fix"]));
        expect(page.examples.some((e) => e.kind === "bad")).toBe(true);
        expect(page.examples.some((e) => e.kind === "good")).toBe(true);
      });

      for (const [i, example] of page.examples.entries()) {
        it(`${example.kind} example ${i + 1}${example.title ? ` (${example.title})` : ""} ${example.kind === "bad" ? "triggers" : "does not trigger"} the rule`, async () => {
          let found: string[];
          if (rule.online) {
            // Asked of a Telegram test server that knows only the good example's token.
            const good = page.examples.find((e) => e.kind === "good")?.env ?? "";
            const token = /^TELEGRAM_BOT_TOKEN=(.*)$/m.exec(good)?.[1] ?? "";
            expect(token).not.toBe("");
            found = await lintHomeOnline(makeHome(example), token);
          } else if (rule.command === "service") {
            // Linted as units: a service page's example is a unit file, its drop-ins, and perhaps the
            // config.yaml of the home the gateway runs with.
            expect(example.units.length).toBeGreaterThan(0);
            const home = example.config === undefined ? undefined : makeHome(example);
            found = lintUnitFiles(example.units, { home }).map((d) => d.rule);
          } else {
            expect(example.units).toEqual([]);
            found = lintHome(makeHome(example)).map((d) => d.rule);
          }
          if (example.kind === "bad") expect(found).toContain(rule.id);
          else expect(found).not.toContain(rule.id);
        });
      }
    });
  }

  it("are what --explain prints from the compiled binary", () => {
    const run = hermes(["lint", "config", "--explain", "missing-token"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(readFileSync(join(DIR, "missing-token.md"), "utf8"));
    const unknown = hermes(["lint", "config", "--explain", "missing-tokn"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('did you mean "missing-token"');
  });

  it("of the service rules are what lint service --explain prints", () => {
    const run = hermes(["lint", "service", "--explain", "service-exit-75"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(readFileSync(join(DIR, "service-exit-75.md"), "utf8"));
    const unknown = hermes(["lint", "service", "--explain", "service-exit-57"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('did you mean "service-exit-75"');
    // The list of rules offered is the command's own.
    expect(unknown.stderr).not.toContain("missing-token");
  });
});
