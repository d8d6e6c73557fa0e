/**
 * No secret value ever appears in output: every format, --print-config, errors about the secrets
 * themselves, stderr. The test configures secrets everywhere a user might put them, then searches all of it.
 */
import { describe, expect, it } from "vitest";
import { hermes } from "../helpers/cli.ts";
import { makeHome } from "../helpers/home.ts";

const SECRETS = {
  telegram: "7312846519:AAHk3vQz8mN2pL5xR9tY1wE4uI7oP0aS6dF",
  discordLiteral: "MTAzNTU3Mzg5NDcxOTEyNzU1Mg.GhT4xQ.k9VbN2mX8zR5tY1wE4uI7oP0aS6dFgHjKlZxCv",
  slackBot: "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
  slackAppWrong: "7312846519:AAHk3vQz8mN2pL5xR9tY1wE4uI7oP0aXXXXX",
  feishu: "Vq8mN2pL5xR9tY1wE4uI7oP0aS6dFgHj",
  http: "0c6f8a3e1d2b4c5f9e8d7c6b5a493827",
  webhookShort: "tooshortsecret",
  quoted: 'quoted-secret-with-"-inside',
  disabled: "xoxb-99999999999-88888888888-disabledButSecret",
  openai: "sk-proj-Hq2mZk9VbN2mX8zR5tY1wE4uI7oP0aS6dFgHjKlZ",
  header: "Bearer agent-header-token-123456",
};

const CONFIG = `gateway:
  http:
    listen: 0.0.0.0:8642
    auth_token: \${HTTP_TOKEN}
agent:
  kind: http
  http:
    url: http://127.0.0.1:9000/reply
    headers:
      Authorization: "${SECRETS.header}"
  openai:
    api_key: ${SECRETS.openai}
platforms:
  telegram:
    token: \${TG_TOKEN}
    allowed_users: [1]
  discord:
    token: ${SECRETS.discordLiteral}
    require_mention: maybe
  slack:
    allowed_users: [U1]
  feishu:
    app_id: 12345
  webhook:
    secret: ${SECRETS.webhookShort}
  matrix:
    homeserver: https://matrix.example.org
    access_token: ${JSON.stringify(SECRETS.quoted)}
cron:
  jobs:
    - id: leak
      schedule: "${SECRETS.http} * * * *"
      message: hi
      deliver: ["telegram:${SECRETS.feishu}"]
`;

const ENV = `TG_TOKEN=${SECRETS.telegram}
HTTP_TOKEN=${SECRETS.http}
SLACK_BOT_TOKEN=${SECRETS.slackBot}
SLACK_APP_TOKEN=${SECRETS.slackAppWrong}
FEISHU_APP_SECRET=${SECRETS.feishu}
DISCORD_BOT_TOKEN=${SECRETS.disabled}
`;

describe("secrets never appear in output", () => {
  const home = makeHome({ config: CONFIG, env: ENV, configMode: 0o644, envMode: 0o644 });
  const runs = [
    ["--format", "human"],
    ["--format", "json"],
    ["--format", "sarif"],
    ["--format", "github"],
    ["--strict"],
    ["--print-config"],
    ["--print-config", "--format", "json"],
  ].map((args) => ({ args, run: hermes(["lint", "config", "--home", home, ...args]) }));

  it("the configuration really produces findings about those secrets", () => {
    const json = JSON.parse(runs[1]!.run.stdout);
    const rules = json.diagnostics.map((d: { rule: string }) => d.rule);
    expect(rules).toEqual(
      expect.arrayContaining([
        "plaintext-secret",
        "token-wrong-platform",
        "token-format",
        "type-mismatch",
        "invalid-cron",
        "file-permissions",
      ]),
    );
  });

  for (const [name, secret] of Object.entries(SECRETS)) {
    it(`${name} is absent from stdout and stderr of every run`, () => {
      for (const { args, run } of runs) {
        expect(run.stdout.includes(secret), `${args.join(" ")} stdout`).toBe(false);
        expect(run.stderr.includes(secret), `${args.join(" ")} stderr`).toBe(false);
        // Nor in JSON-escaped form.
        expect(run.stdout.includes(JSON.stringify(secret).slice(1, -1)), `${args.join(" ")} escaped`).toBe(
          false,
        );
      }
    });
  }

  it("secrets are shown as <redacted, N chars>, keeping only a public prefix", () => {
    const printed = runs[5]!.run.stdout;
    expect(printed).toContain(`token: <redacted, ${SECRETS.telegram.length} chars>`);
    expect(printed).toContain(`bot_token: xoxb-<redacted, ${SECRETS.slackBot.length} chars>`);
  });
});
