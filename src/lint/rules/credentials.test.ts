import { describe, expect, it } from "vitest";
import { lintText } from "../../../test/helpers/lint.ts";
import { PLATFORMS } from "../../platforms/registry.ts";
import { placeholderReason, whitespaceReason } from "./credentials.ts";

const TG = "7312846519:AAHk3vQz8mN2pL5xR9tY1wE4uI7oP0aS6dF";
const DISCORD = "MTAzNTU3Mzg5NDcxOTEyNzU1Mg.GhT4xQ.k9VbN2mX8zR5tY1wE4uI7oP0aS6dFgHjKlZxCv";
const SLACK_BOT = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy";
const SLACK_APP = "xapp-1-A0123456789-1234567890123-0123456789abcdef0123456789abcdef";

const only = (rule: string, config: string, env?: string) =>
  lintText(config, env).filter((d) => d.rule === rule);

describe("missing-token, for every platform and every missing half", () => {
  for (const manifest of PLATFORMS) {
    for (const missing of manifest.credentials) {
      const others = manifest.credentials.filter((c) => c !== missing);
      const env = others
        .map((c) => `${c.env}=${c.isUrl ? "https://matrix.example.org" : "filledvalue-1234567890"}\n`)
        .join("");
      for (const block of [
        `platforms:\n  ${manifest.name}: {}\n`,
        `platforms:\n  ${manifest.name}:\n    enabled: true\n`,
        `${manifest.name}:\n`,
      ]) {
        it(`${manifest.name} without ${missing.env} (${block.split("\n")[0]}${block.includes("enabled") ? " enabled: true" : ""})`, () => {
          const found = only("missing-token", block, env);
          expect(found).toHaveLength(1);
          expect(found[0]).toMatchObject({
            severity: "error",
            line: block.startsWith("platforms") ? 2 : 1,
            platform: manifest.name,
          });
          expect(found[0]?.message).toContain(missing.env);
          expect(found[0]?.message).toContain(`platforms.${manifest.name}.${missing.key}`);
        });
      }
    }
  }

  it("points at the variable that enabled a platform with no block", () => {
    const [found] = only("missing-token", "gateway: {}\n", `SLACK_BOT_TOKEN=${SLACK_BOT}\n`);
    expect(found).toMatchObject({ file: expect.stringMatching(/\.env$/), line: 1, path: "SLACK_BOT_TOKEN" });
    expect(found?.message).toContain("SLACK_APP_TOKEN");
  });

  it("leaves an unset ${VAR} to env-unset", () => {
    const d = lintText("platforms:\n  discord:\n    token: ${MY_DISCORD}\n");
    expect(d.map((x) => x.rule)).toContain("env-unset");
    expect(d.map((x) => x.rule)).not.toContain("missing-token");
    expect(d.find((x) => x.rule === "env-unset")?.severity).toBe("error");
  });
});

describe("token shape checks", () => {
  it("recognises each platform's real shape (no finding for good tokens)", () => {
    const d = lintText(
      "platforms:\n  telegram: {}\n  discord: {}\n  slack: {}\n",
      `TELEGRAM_BOT_TOKEN=${TG}\nDISCORD_BOT_TOKEN=${DISCORD}\nSLACK_BOT_TOKEN=${SLACK_BOT}\nSLACK_APP_TOKEN=${SLACK_APP}\n`,
    );
    expect(d.filter((x) => x.rule.startsWith("token-") || x.rule === "duplicate-token")).toEqual([]);
  });

  it("token-wrong-platform: a Slack token given to Telegram", () => {
    const [found] = only(
      "token-wrong-platform",
      "platforms:\n  telegram: {}\n",
      `TELEGRAM_BOT_TOKEN=${SLACK_BOT}\n`,
    );
    expect(found?.message).toBe(
      "TELEGRAM_BOT_TOKEN looks like a Slack bot token (xoxb-…), not a Telegram bot token",
    );
    expect(found?.hint).toContain("SLACK_BOT_TOKEN");
  });

  it("token-wrong-platform: a Telegram token given to Discord in the config", () => {
    const [found] = only("token-wrong-platform", `platforms:\n  discord:\n    token: "${TG}"\n`);
    expect(found).toMatchObject({ path: "platforms.discord.token", line: 3 });
  });

  it("token-format: swapped Slack tokens say so", () => {
    const found = only(
      "token-format",
      "platforms:\n  slack: {}\n",
      `SLACK_BOT_TOKEN=${SLACK_APP}\nSLACK_APP_TOKEN=${SLACK_BOT}\n`,
    );
    expect(found).toHaveLength(2);
    expect(found[0]?.message).toContain("swapped");
  });

  it("token-format: a Telegram token without its bot id", () => {
    const [found] = only(
      "token-format",
      "platforms:\n  telegram: {}\n",
      "TELEGRAM_BOT_TOKEN=AAHk3vQz8mN2pL5xR9tY1wE4uI7oP0aS6dF\n",
    );
    expect(found?.severity).toBe("warning");
  });

  it.each([
    ["changeme", "placeholder word"],
    ["your_token_here", "placeholder word"],
    ["<your bot token>", "brackets"],
    ["xoxb-...", '"..."'],
    ["123456:ABC...", '"..."'],
    ["xxxxxxxxxxxx", "placeholder word"],
    ["abc", "only 3 characters"],
  ])("token-placeholder: %s", (value, why) => {
    expect(placeholderReason(value, true)).toContain(why);
  });

  it("token-placeholder reports without printing the placeholder's neighbours", () => {
    const [found] = only("token-placeholder", "platforms:\n  discord: {}\n", "DISCORD_BOT_TOKEN=changeme\n");
    expect(found).toMatchObject({ severity: "error", line: 1 });
  });

  it.each([
    [`${TG}\n`, "ends with a line break"],
    [` ${TG}`, "starts with a space"],
    [`${TG} `, "ends with a space"],
    [`"${TG}"`, "quote"],
    ["abc def", "contains a space"],
  ])("token-whitespace: %j", (value, why) => {
    expect(whitespaceReason(value)).toContain(why);
  });

  it("token-whitespace: a YAML | block adds a line break", () => {
    const [found] = only("token-whitespace", `platforms:\n  telegram:\n    token: |\n      ${TG}\n`);
    expect(found?.message).toContain("line break");
  });

  it("duplicate-token: the same secret in two places", () => {
    const [found] = only(
      "duplicate-token",
      "platforms:\n  slack: {}\n",
      `SLACK_BOT_TOKEN=${SLACK_BOT}\nSLACK_APP_TOKEN=${SLACK_BOT}\n`,
    );
    expect(found?.message).toBe("SLACK_APP_TOKEN holds the same value as SLACK_BOT_TOKEN");
  });

  it("checks only enabled platforms", () => {
    const d = lintText("platforms:\n  telegram:\n    enabled: false\n", "TELEGRAM_BOT_TOKEN=changeme\n");
    expect(d.map((x) => x.rule)).not.toContain("token-placeholder");
  });
});
