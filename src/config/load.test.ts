import { describe, expect, it } from "vitest";
import { makeHome } from "../../test/helpers/home.ts";
import { lintText, rules } from "../../test/helpers/lint.ts";
import { sortDiagnostics } from "../lint/diagnostic.ts";
import { InputError, loadConfig } from "./load.ts";

const load = (config?: string, env?: string, processEnv: Record<string, string> = {}) =>
  loadConfig({ home: makeHome({ config, env }), env: processEnv });
const enabled = (l: ReturnType<typeof load>) =>
  l.platforms.filter((p) => p.enabled).map((p) => p.manifest.name);

describe("which platforms run", () => {
  it("a block that does not say enabled: false is enabled, with or without enabled: true", () => {
    expect(enabled(load("platforms:\n  discord: {}\n"))).toEqual(["discord"]);
    expect(enabled(load("platforms:\n  discord:\n    enabled: true\n"))).toEqual(["discord"]);
    expect(enabled(load("platforms:\n  discord:\n"))).toEqual(["discord"]);
    expect(enabled(load("discord:\n  require_mention: true\n"))).toEqual(["discord"]);
  });

  it("a platform with no block is enabled when a credential variable is set", () => {
    const l = load("gateway: {}\n", "TELEGRAM_BOT_TOKEN=7312846519:AAHk3vQz8mN2pL5xR9tY1wE4uI7oP0aS6dF\n");
    expect(enabled(l)).toEqual(["telegram"]);
    expect(l.platforms[0]).toMatchObject({ enabledBy: "env", envSet: ["TELEGRAM_BOT_TOKEN"] });
    expect(enabled(load(undefined, undefined, { SLACK_APP_TOKEN: "xapp-1-A1-2-abc" }))).toEqual(["slack"]);
  });

  it("enabled: false always wins", () => {
    expect(
      enabled(load("platforms:\n  slack:\n    enabled: false\n", "SLACK_BOT_TOKEN=xoxb-1-2-abc\n")),
    ).toEqual([]);
  });

  it("an empty value for a variable does not enable", () => {
    expect(enabled(load(undefined, "DISCORD_BOT_TOKEN=\n"))).toEqual([]);
  });

  it("takes credentials from the block first, then from the variable", () => {
    const l = load(
      "platforms:\n  telegram:\n    token: ${MY_TOKEN}\n",
      "MY_TOKEN=1:from-block\nTELEGRAM_BOT_TOKEN=2:from-var\n",
    );
    expect(l.platforms[0]?.credentials[0]).toMatchObject({ value: "1:from-block", from: "config" });
    const v = load("platforms:\n  telegram: {}\n", "TELEGRAM_BOT_TOKEN=2:from-var\n");
    expect(v.platforms[0]?.credentials[0]).toMatchObject({ value: "2:from-var", from: "env" });
  });

  it(".env overrides the process environment", () => {
    const l = load("platforms:\n  telegram: {}\n", "TELEGRAM_BOT_TOKEN=from-dotenv\n", {
      TELEGRAM_BOT_TOKEN: "from-process",
    });
    expect(l.platforms[0]?.credentials[0]?.value).toBe("from-dotenv");
  });

  it("honours upstream's allowlist, allow-all and home-channel variables", () => {
    const l = load(
      "platforms:\n  telegram: {}\n",
      "TELEGRAM_ALLOWED_USERS=1, 2,3\nTELEGRAM_HOME_CHANNEL=42\nGATEWAY_ALLOW_ALL_USERS=true\n",
    );
    expect(l.platforms[0]).toMatchObject({
      allowedUsers: { value: ["1", "2", "3"], from: "env" },
      homeChannel: { value: "42", from: "env" },
      allowAll: { value: true, from: "env" },
    });
    const block = load(
      "platforms:\n  telegram:\n    allowed_users: [7]\n    allow_all: false\n",
      "TELEGRAM_ALLOWED_USERS=1\nGATEWAY_ALLOW_ALL_USERS=true\n",
    );
    expect(block.platforms[0]).toMatchObject({
      allowedUsers: { value: ["7"], from: "config" },
      allowAll: { value: false },
    });
  });
});

describe("upstream compatibility", () => {
  it("moves top-level platform blocks under platforms:, keeping their positions", () => {
    const d = lintText("agent:\n  max_turns: 60\ndiscord:\n  require_mention: true\n");
    const missing = d.find((x) => x.rule === "missing-token");
    expect(missing).toMatchObject({ line: 3, column: 1, path: "discord", platform: "discord" });
  });

  it("reports a platform defined both ways, and uses the one under platforms:", () => {
    const l = load("telegram:\n  allowed_users: [1]\nplatforms:\n  telegram:\n    allowed_users: [2]\n");
    expect(l.config.platforms.telegram?.allowed_users).toEqual(["2"]);
    expect(l.diagnostics).toEqual([expect.objectContaining({ rule: "duplicate-key", line: 1 })]);
  });

  it("treats empty sections as absent (no type-mismatch)", () => {
    const d = lintText("gateway:\n  # nothing here\nagent:\nplatforms:\ncron:\n");
    expect(rules(d, "error")).toEqual([]);
  });

  it("reads upstream-only keys as warnings, never errors", () => {
    const d = lintText(
      "_config_version: 50\nmodel:\n  default: x\nagent:\n  max_turns: 60\ngateway:\n  trust_env: true\ncron:\n  catch_up_missed: true\nplatforms:\n  whatsapp: {enabled: true}\n  telegram:\n    reply_to_mode: first\n    extra: {a: 1}\n",
      "TELEGRAM_BOT_TOKEN=7312846519:AAHk3vQz8mN2pL5xR9tY1wE4uI7oP0aS6dF\n",
    );
    expect(d.filter((x) => x.rule === "upstream-key").map((x) => x.path)).toEqual([
      "_config_version",
      "model",
      "agent.max_turns",
      "gateway.trust_env",
      "cron.catch_up_missed",
      "platforms.whatsapp",
      "platforms.telegram.reply_to_mode",
      "platforms.telegram.extra",
    ]);
    expect(rules(d, "error")).toEqual([]);
  });

  it("reads upstream's home_channel mapping as its chat id", () => {
    const l = load(
      "platforms:\n  telegram:\n    home_channel: {platform: telegram, chat_id: -1001234567890, name: Ops}\n",
    );
    expect(l.config.platforms.telegram?.home_channel).toBe("-1001234567890");
  });

  it("accepts YAML 1.1 booleans with a warning", () => {
    const d = lintText("platforms:\n  webhook:\n    enabled: yes\n    require_mention: off\n");
    expect(d.filter((x) => x.rule === "yaml11-boolean").map((x) => [x.path, x.line, x.column])).toEqual([
      ["platforms.webhook.enabled", 3, 14],
      ["platforms.webhook.require_mention", 4, 22],
    ]);
  });
});

describe("keys and types", () => {
  it("reports every unknown key with a suggestion, and keeps going", () => {
    const d = lintText(
      "gateway:\n  drain_timout: 5s\n  htp: {}\nplatforms:\n  slack:\n    tokn: x\n    bot_tokn: y\n",
    );
    expect(d.filter((x) => x.rule === "unknown-key").map((x) => [x.path, x.hint])).toEqual([
      ["gateway.drain_timout", 'did you mean "drain_timeout"?'],
      ["gateway.htp", 'did you mean "http"?'],
      ["platforms.slack.tokn", expect.stringContaining("known keys")],
      ["platforms.slack.bot_tokn", 'did you mean "bot_token"?'],
    ]);
  });

  it("names unknown platforms with the closest one", () => {
    const d = lintText("platforms:\n  discrod: {}\n  telegarm: {}\ndiscrod: {}\n");
    expect(d.filter((x) => x.rule === "unknown-platform").map((x) => x.hint)).toEqual([
      'did you mean "discord"?',
      'did you mean "telegram"?',
      'did you mean "discord"?',
    ]);
  });

  it("reports type mismatches at the value and falls back to the default", () => {
    const l = load("gateway:\n  drain_timeout: soon\n  http:\n    listen: nowhere\n");
    expect(sortDiagnostics(l.diagnostics).map((x) => [x.rule, x.path, x.line, x.column])).toEqual([
      ["type-mismatch", "gateway.drain_timeout", 2, 18],
      ["type-mismatch", "gateway.http.listen", 4, 13],
    ]);
    expect(l.config.gateway.drain_timeout).toBe(30_000);
    expect(l.config.gateway.http.listen).toBe("127.0.0.1:8642");
  });

  it("rejects integers above 2^53 in id lists and keeps the rest", () => {
    const l = load(
      'platforms:\n  telegram:\n    allowed_users: [11111111, 123456789012345678901, "123456789012345678901"]\n',
    );
    expect(l.diagnostics).toEqual([
      expect.objectContaining({
        rule: "type-mismatch",
        path: "platforms.telegram.allowed_users[1]",
        hint: expect.stringContaining("quote"),
      }),
    ]);
    expect(l.config.platforms.telegram?.allowed_users).toEqual(["11111111", "123456789012345678901"]);
  });

  it("reports a missing required key at its parent", () => {
    const d = lintText(
      "cron:\n  jobs:\n    - schedule: '0 3 * * *'\n      message: hi\n    - id: ok\n      schedule: every 1h\n      message: hi\n",
    );
    expect(d.filter((x) => x.rule === "type-mismatch").map((x) => x.message)).toEqual([
      'cron.jobs[0] is missing the required key "id"',
    ]);
  });

  it("never quotes a secret field's value in a type mismatch", () => {
    const d = lintText("platforms:\n  telegram:\n    token: [supersecretvalue]\n");
    expect(JSON.stringify(d)).not.toContain("supersecretvalue");
  });

  it("applies every default", () => {
    const l = load(undefined);
    expect(l.config).toMatchObject({
      gateway: {
        http: { listen: "127.0.0.1:8642" },
        drain_timeout: 30_000,
        strict: false,
        watchdog: { interval: 10_000, failure_threshold: 2 },
        reconnect: { initial: 1_000, max: 300_000 },
        outbox_ttl: 86_400_000,
      },
      agent: { kind: "echo" },
      cron: { jobs: [] },
    });
    expect(l.diagnostics).toEqual([expect.objectContaining({ rule: "embedded-default", severity: "info" })]);
  });
});

describe("environment references", () => {
  it("gives a plain reference the type its value spells, but keeps quoted ones text", () => {
    const l = load(
      'gateway:\n  strict: ${STRICT}\n  drain_timeout: ${DRAIN}\nplatforms:\n  telegram:\n    home_channel: "${HOME_CHAT}"\n',
      "STRICT=true\nDRAIN=45\nHOME_CHAT=0042\n",
    );
    expect(l.config.gateway.strict).toBe(true);
    expect(l.config.gateway.drain_timeout).toBe(45_000);
    expect(l.config.platforms.telegram?.home_channel).toBe("0042");
  });

  it("an unset plain reference makes the key absent, so its default applies", () => {
    const l = load("gateway:\n  drain_timeout: ${UNSET_DRAIN}\n");
    expect(l.config.gateway.drain_timeout).toBe(30_000);
  });

  it("collects the secrets to redact", () => {
    const l = load(
      "platforms:\n  telegram:\n    token: ${TG}\n  slack: {enabled: false}\ngateway:\n  http:\n    auth_token: literal-token-123\n",
      "TG=1234:abcdefghijkl\nSLACK_BOT_TOKEN=xoxb-not-enabled-but-secret\nOTHER_API_KEY=keep-me-hidden\nPLAIN=visible\n",
    );
    expect([...l.secrets].sort()).toEqual([
      "1234:abcdefghijkl",
      "keep-me-hidden",
      "literal-token-123",
      "xoxb-not-enabled-but-secret",
    ]);
  });
});

describe("files", () => {
  it("a missing default config.yaml is the embedded default; a missing named file is an InputError", () => {
    expect(load(undefined).configFile.exists).toBe(false);
    expect(() => loadConfig({ home: makeHome(), configFile: "/nonexistent/config.yaml", env: {} })).toThrow(
      InputError,
    );
    expect(() => loadConfig({ home: makeHome(), envFile: "/nonexistent/.env", env: {} })).toThrow(
      /does not exist/,
    );
  });

  it("a config that is not a mapping cannot be used", () => {
    expect(load("- a\n- b\n")).toMatchObject({
      fatal: true,
      diagnostics: [expect.objectContaining({ rule: "type-mismatch" })],
    });
    expect(load("just text\n").fatal).toBe(true);
    expect(load("").fatal).toBe(false);
  });
});
