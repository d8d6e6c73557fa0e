/** The compiled binary, as users run it: commands, help, usage errors, exit codes, colour. */
import { spawnSync } from "node:child_process";
import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cleanEnv, hermes, lintJson, ROOT } from "../helpers/cli.ts";
import { makeHome, tempDir, writeFile } from "../helpers/home.ts";

const DISCORD = "MTAzNTU3Mzg5NDcxOTEyNzU1Mg.GhT4xQ.k9VbN2mX8zR5tY1wE4uI7oP0aS6dFgHjKlZxCv";

/** Every command of SPEC §1, and whether this version builds it. */
const COMMANDS: [string[], boolean][] = [
  [["gateway", "run"], true],
  [["gateway", "status"], true],
  [["gateway", "restart"], true],
  [["gateway", "stop"], true],
  [["lint", "config"], true],
  [["lint", "service"], true],
  [["install-service"], true],
  [["uninstall-service"], true],
  [["cron", "list"], true],
  [["cron", "add"], true],
  [["cron", "rm"], true],
  [["cron", "pause"], true],
  [["cron", "resume"], true],
  [["cron", "run"], true],
  [["cron", "status"], true],
  [["cron", "serve"], true],
  [["send"], true],
  [["outbox", "list"], true],
  [["outbox", "retry"], true],
  [["outbox", "purge"], true],
  [["self-update"], true],
  [["uninstall"], true],
];

describe("hermes --version", () => {
  it("prints the package version without a v", () => {
    const run = hermes(["--version"]);
    expect(run).toEqual({ code: 0, stdout: "hermes 0.1.0\n", stderr: "" });
    expect(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version).toBe("0.1.0");
  });
});

describe("commands", () => {
  it("hermes alone and hermes --help list every command", () => {
    for (const args of [[], ["--help"], ["-h"]]) {
      const run = hermes(args);
      expect(run.code).toBe(0);
      for (const name of [
        "gateway",
        "lint",
        "install-service",
        "uninstall-service",
        "cron",
        "send",
        "outbox",
        "self-update",
        "uninstall",
      ]) {
        expect(run.stdout).toContain(name);
      }
      expect(run.stdout).toContain("--version");
    }
  });

  for (const [words, built] of COMMANDS) {
    const name = words.join(" ");
    it(`hermes ${name} --help shows its usage with the global options`, () => {
      const run = hermes([...words, "--help"]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`USAGE hermes ${name}`);
      expect(run.stdout).toContain("--home");
      expect(run.stdout).toContain("--log-level");
      expect(run.stdout).not.toContain("\u001b[");
    });

    if (!built) {
      it(`hermes ${name} says in one sentence that it is not built yet, exit 2`, () => {
        // Give the positional arguments a command requires, so the refusal is about the command itself.
        const args =
          words[0] === "send"
            ? [...words, "telegram", "hi"]
            : ["add", "rm", "pause", "resume", "run"].includes(words[1] ?? "")
              ? [...words, "nightly"]
              : words;
        const run = hermes(args, { env: cleanEnv({ HERMES_HOME: tempDir() }) });
        expect(run.code).toBe(2);
        expect(run.stdout).toBe("");
        expect(run.stderr.trim().split("\n")).toHaveLength(1);
        expect(run.stderr).toContain(`hermes ${name}`);
        expect(run.stderr).toContain("not built yet");
      });
    }
  }

  it("a group without its subcommand prints usage on stderr, exit 2", () => {
    const run = hermes(["lint"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("USAGE hermes lint");
    expect(run.stderr).toContain("needs a command: config, service");
  });

  it("a missing required argument is a usage error, exit 2", () => {
    expect(hermes(["cron", "rm"])).toMatchObject({
      code: 2,
      stderr: "Missing required positional argument: ID\n",
    });
  });

  it("an unknown command or option is a usage error with a suggestion, exit 2", () => {
    expect(hermes(["lnt", "config"])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('did you mean "lint"?'),
    });
    expect(hermes(["lint", "config", "--formt", "json"])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("did you mean --format?"),
    });
    expect(hermes(["lint", "config", "--format"])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("needs a value"),
    });
    expect(hermes(["lint", "config", "--format", "xml"])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("--format must be one of"),
    });
    expect(hermes(["lint", "config", "--log-level", "loud"])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("--log-level must be one of"),
    });
  });

  it("--online with no platform enabled asks nothing and exits 0 (test/platforms/telegram-e2e asks one)", () => {
    const run = hermes(["lint", "config", "--online", "--home", makeHome()]);
    expect(run.code).toBe(0);
    expect(run.stderr).not.toContain("online:");
  });
});

describe("hermes lint config exit codes", () => {
  it("0 for the embedded default (no config.yaml), with the info", () => {
    const { code, report } = lintJson(makeHome());
    expect(code).toBe(0);
    expect(report.diagnostics).toEqual([
      expect.objectContaining({ rule: "embedded-default", severity: "info" }),
    ]);
  });

  it("1 for a discord block without DISCORD_BOT_TOKEN, at the block's line, naming the variable", () => {
    for (const config of ["platforms:\n  discord: {}\n", "platforms:\n  discord:\n    enabled: true\n"]) {
      const home = makeHome({ config });
      const run = hermes(["lint", "config", "--home", home]);
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/config\.yaml:2:3: error \[missing-token\] .*DISCORD_BOT_TOKEN/);
    }
  });

  it("0 once the token is in .env (warnings allowed), 1 with --strict", () => {
    const home = makeHome({ config: "platforms:\n  discord: {}\n", env: `DISCORD_BOT_TOKEN=${DISCORD}\n` });
    expect(hermes(["lint", "config", "--home", home]).code).toBe(0);
    expect(hermes(["lint", "config", "--home", home, "--strict"]).code).toBe(1);
  });

  it("reads the token from the process environment too", () => {
    const home = makeHome({ config: "platforms:\n  discord:\n    allowed_users: [1]\n" });
    const run = hermes(["lint", "config", "--home", home, "--format", "json"], {
      env: cleanEnv({ DISCORD_BOT_TOKEN: DISCORD }),
    });
    expect(JSON.parse(run.stdout).diagnostics.map((d: { rule: string }) => d.rule)).not.toContain(
      "missing-token",
    );
  });

  it("2 for a named file that is missing, a directory, binary, too large or a FIFO, in one sentence", () => {
    const dir = tempDir();
    const binary = writeFile(dir, "binary.yaml", new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3]));
    const big = writeFile(dir, "big.yaml", `a: "${"x".repeat(10 * 1024 * 1024)}"\n`);
    const fifo = join(dir, "fifo.yaml");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    const loop = join(dir, "loop.yaml");
    symlinkSync(loop, loop);
    const cases: [string, string][] = [
      [join(dir, "absent.yaml"), "does not exist"],
      [dir, "is a directory"],
      [binary, "binary file"],
      [big, "MiB"],
      [fifo, "not a regular file"],
      [loop, "cannot be read"],
    ];
    for (const [file, words] of cases) {
      const run = hermes(["lint", "config", file, "--home", makeHome()]);
      expect(run.code, file).toBe(2);
      expect(run.stderr.trim().split("\n"), file).toHaveLength(1);
      expect(run.stderr, file).toContain(words);
      expect(run.stderr, file).toContain(file);
    }
  });

  it("FILE replaces only config.yaml; --env-file replaces .env", () => {
    const home = makeHome({ config: "platforms:\n  discord: {}\n", env: `DISCORD_BOT_TOKEN=${DISCORD}\n` });
    const other = writeFile(tempDir(), "other.yaml", "platforms:\n  discord:\n    allowed_users: [1]\n");
    expect(hermes(["lint", "config", other, "--home", home]).code).toBe(0);
    const emptyEnv = writeFile(tempDir(), "empty.env", "# nothing\n");
    expect(hermes(["lint", "config", other, "--home", home, "--env-file", emptyEnv]).code).toBe(1);
  });

  it("--home wins over HERMES_HOME, which wins over ~/.hermes; global options may come first", () => {
    const broken = makeHome({ config: "platforms:\n  discord: {}\n" });
    const clean = makeHome({ config: "gateway: {}\n" });
    expect(hermes(["lint", "config"], { env: cleanEnv({ HERMES_HOME: broken }) }).code).toBe(1);
    expect(hermes(["lint", "config", "--home", clean], { env: cleanEnv({ HERMES_HOME: broken }) }).code).toBe(
      0,
    );
    expect(hermes(["--home", broken, "lint", "config"]).code).toBe(1);
    const fakeHome = tempDir();
    writeFile(join(fakeHome, ".hermes"), "config.yaml", "platforms:\n  slack: {}\n");
    expect(hermes(["lint", "config"], { env: cleanEnv({ HOME: fakeHome }) }).code).toBe(1);
  });
});

describe("output formats from the binary", () => {
  const home = () => makeHome({ config: "gateway:\n  drain_timeout: soon\nplatforms:\n  discord: {}\n" });

  it("json, sarif and github describe the same findings", () => {
    const h = home();
    const json = JSON.parse(hermes(["lint", "config", "--home", h, "--format", "json"]).stdout);
    const sarif = JSON.parse(hermes(["lint", "config", "--home", h, "--format", "sarif"]).stdout);
    const github = hermes(["lint", "config", "--home", h, "--format", "github"]).stdout.trim().split("\n");
    const rules = json.diagnostics.map((d: { rule: string }) => d.rule);
    expect(rules).toEqual(expect.arrayContaining(["type-mismatch", "missing-token"]));
    expect(sarif.runs[0].results.map((r: { ruleId: string }) => r.ruleId)).toEqual(rules);
    expect(github.map((l) => /title=hermes \[([^\]]+)\]/.exec(l)?.[1])).toEqual(rules);
    expect(github.filter((l) => l.startsWith("::error")).length).toBe(json.summary.errors);
  });

  it("colour only on request: FORCE_COLOR adds it, NO_COLOR wins, a pipe has none", () => {
    const h = home();
    expect(hermes(["lint", "config", "--home", h]).stdout).not.toContain("\u001b[");
    expect(hermes(["lint", "config", "--home", h], { env: cleanEnv({ FORCE_COLOR: "1" }) }).stdout).toContain(
      "\u001b[31merror",
    );
    expect(
      hermes(["lint", "config", "--home", h], { env: cleanEnv({ FORCE_COLOR: "1", NO_COLOR: "1" }) }).stdout,
    ).not.toContain("\u001b[");
  });

  it("--print-schema prints the JSON Schema, top-level platform blocks included", () => {
    const run = hermes(["lint", "config", "--print-schema"]);
    expect(run.code).toBe(0);
    const schema = JSON.parse(run.stdout);
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(["gateway", "agent", "platforms", "cron", "telegram", "discord"]),
    );
    expect(schema.properties.platforms.properties.slack.properties.bot_token.description).toContain(
      "SLACK_BOT_TOKEN",
    );
    expect(schema.properties.gateway.properties.strict).toEqual({ type: "boolean" });
  });

  it("--print-config shows every value with its source", () => {
    const h = makeHome({
      config: "gateway:\n  drain_timeout: 45s\nplatforms:\n  discord:\n    allowed_users: [1]\n",
      env: `DISCORD_BOT_TOKEN=${DISCORD}\n`,
    });
    const run = hermes(["lint", "config", "--home", h, "--print-config", "--format", "json"]);
    expect(run.code).toBe(0);
    const { config, sources } = JSON.parse(run.stdout);
    expect(config.gateway.drain_timeout).toBe("45s");
    expect(sources["gateway.drain_timeout"]).toBe("config.yaml line 2");
    expect(sources["gateway.http.listen"]).toBe("default");
    expect(config.platforms.discord.token).toBe(`<redacted, ${DISCORD.length} chars>`);
    expect(sources["platforms.discord.token"]).toBe("DISCORD_BOT_TOKEN from .env line 1");
    const human = hermes(["lint", "config", "--home", h, "--print-config"]);
    expect(human.stdout).toContain("drain_timeout: 45s # config.yaml line 2");
    expect(human.stdout).toContain(
      `token: <redacted, ${DISCORD.length} chars> # DISCORD_BOT_TOKEN from .env line 1`,
    );
  });
});

describe("bad input never crashes the binary", () => {
  it("an alias bomb, deep nesting and garbage are reported, not fatal to the process", () => {
    const bomb = `a: &a ["x","x","x","x","x","x","x","x","x"]\n${"bcdefghij"
      .split("")
      .map((c, i) => `${c}: &${c} [${Array(9).fill(`*${"abcdefghij"[i]}`).join(",")}]`)
      .join("\n")}\n`;
    const cases = [
      bomb,
      `a: ${"[".repeat(100_000)}`,
      "\u0001\u0002: [}\n",
      "a: b: c: d\n",
      "%YAML 9.9\n---\na: 1\n",
    ];
    for (const config of cases) {
      const home = makeHome({ config });
      const run = hermes(["lint", "config", "--home", home, "--format", "json"]);
      expect(run.code, config.slice(0, 40)).toBe(1);
      expect(JSON.parse(run.stdout).diagnostics[0].rule).toMatch(/yaml-syntax|type-mismatch|duplicate-key/);
    }
  });

  it("writes large output in full through a pipe", () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `  unknown_key_${i}: ${i}`).join("\n");
    const home = makeHome({ config: `gateway:\n${lines}\n` });
    const run = hermes(["lint", "config", "--home", home, "--format", "json"]);
    expect(run.code).toBe(1);
    expect(run.stdout.length).toBeGreaterThan(65_536);
    expect(JSON.parse(run.stdout).diagnostics).toHaveLength(3000);
  });

  it("a .env that is not UTF-8 is exit 2", () => {
    const home = makeHome({ config: "gateway: {}\n" });
    writeFileSync(join(home, ".env"), new Uint8Array([0x41, 0x3d, 0xff, 0xfe, 0x0a]));
    const run = hermes(["lint", "config", "--home", home]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("not UTF-8");
  });
});
