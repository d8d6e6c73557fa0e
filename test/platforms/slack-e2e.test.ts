/**
 * Slack end to end with the compiled binary (Bun) against the Slack test server: a message reaches the echo
 * agent and the reply arrives through chat.postMessage; mentions in a channel with require_mention; a revoked
 * token is `failed`. All of the process's output is searched for both tokens.
 */
import { afterEach, describe, expect, it } from "vitest";
import { hermesAsync } from "../helpers/cli.ts";
import {
  capturedOutput,
  type GatewayProcess,
  platformStatus,
  startGatewayHome,
  waitFor,
} from "../helpers/gateway.ts";
import { makeHome } from "../helpers/home.ts";
import { sleep } from "../helpers/wait.ts";
import { BOT_USER, SlackTestServer } from "../kit/slack-server.ts";

const BOT_TOKEN = "xoxb-7312846519-9182736455-e2eBotSecretValueDoNotLeak";
const APP_TOKEN = "xapp-1-A0HERMESAPP-5647382910-e2eAppSecretValueDoNotLeak";
let server: SlackTestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function gateway(extraBlock = "") {
  server = await SlackTestServer.start({ botToken: BOT_TOKEN, appToken: APP_TOKEN });
  const { gw } = await startGatewayHome({
    platforms: `  slack:\n    allowed_users: [U0USER555]\n    api_base: ${server.url}\n${extraBlock}`,
    env: `SLACK_BOT_TOKEN=${BOT_TOKEN}\nSLACK_APP_TOKEN=${APP_TOKEN}\n`,
  });
  return { gw, server };
}

const slackState = (gw: GatewayProcess) => platformStatus(gw, "slack");

describe("Slack through the compiled binary", () => {
  it("a message reaches the echo agent and the reply arrives; a revoked token is `failed`; no token leaks", async () => {
    const { gw, server } = await gateway();
    await waitFor("slack connected", async () => (await slackState(gw))?.state === "connected");
    const { envelopeId } = server.pushMessage({
      channel: "D0USER555",
      user: "U0USER555",
      text: "hello from Slack",
    });
    await waitFor("the reply", () => server.posted.length >= 1);
    expect(server.posted[0]).toMatchObject({ channel: "D0USER555", text: "hello from Slack" });
    expect(server.acks).toContain(envelopeId);
    // Sent again by Slack (as after a lost ack): acked again, answered once.
    server.pushEnvelope({ ...redelivery(server, envelopeId) });
    await waitFor("the second ack", () => server.acks.filter((a) => a === envelopeId).length === 2);
    // A user not in allowed_users gets nothing, but the envelope is acked (Slack must not resend it).
    const stranger = server.pushMessage({ channel: "D0USER666", user: "U0USER666", text: "let me in" });
    await waitFor("the refusal to be logged", () => gw.logs.some((l) => l.event === "message.refused"));
    await waitFor("the stranger's envelope acked", () => server.acks.includes(stranger.envelopeId));
    await sleep(300);
    expect(server.posted.map((p) => p.channel)).toEqual(["D0USER555"]);

    server.rejectToken = true;
    server.closeLinks(1008, "token revoked");
    await waitFor("slack failed", async () => (await slackState(gw))?.state === "failed", 15_000);
    expect((await slackState(gw))?.reason).toMatch(
      /^Slack rejected the bot token .*: invalid_auth on auth\.test$/,
    );

    const output = await capturedOutput(gw);
    expect(output).toContain("invalid_auth");
    for (const token of [BOT_TOKEN, APP_TOKEN]) {
      expect(output).not.toContain(token);
      expect(output).not.toContain(token.slice(5));
    }
  });

  it("require_mention: in a channel only messages that mention the bot are answered, in their thread", async () => {
    const { gw, server } = await gateway("    require_mention: true\n");
    await waitFor("slack connected", async () => (await slackState(gw))?.state === "connected");
    server.pushMessage({
      channel: "C0TEAM",
      user: "U0USER555",
      text: "just chatting",
      channelType: "channel",
    });
    const asked = server.pushMessage({
      channel: "C0TEAM",
      user: "U0USER555",
      text: `<@${BOT_USER.id}> are you there?`,
      channelType: "channel",
      threadTs: "1690000000.000001",
    });
    // Slack sends the same message again as app_mention: one answer, not two.
    server.pushMessage({
      channel: "C0TEAM",
      user: "U0USER555",
      text: `<@${BOT_USER.id}> are you there?`,
      eventType: "app_mention",
      ts: asked.ts,
      threadTs: "1690000000.000001",
    });
    await waitFor("the reply", () => server.posted.length >= 1);
    await waitFor("every envelope acked", () => server.unacked === 0);
    await sleep(300);
    expect(server.posted).toEqual([
      expect.objectContaining({
        channel: "C0TEAM",
        text: `<@${BOT_USER.id}> are you there?`,
        thread_ts: "1690000000.000001",
      }),
    ]);
  });
});

describe("hermes send to Slack with no gateway running", () => {
  it("posts straight through chat.postMessage, split at 4,000; a refused token is one clear line", async () => {
    server = await SlackTestServer.start({ botToken: BOT_TOKEN, appToken: APP_TOKEN });
    const home = makeHome({
      config: `platforms:\n  slack:\n    allowed_users: [U0USER555]\n    api_base: ${server.url}\n`,
      env: `SLACK_BOT_TOKEN=${BOT_TOKEN}\nSLACK_APP_TOKEN=${APP_TOKEN}\n`,
    });
    const text = `${"a".repeat(3990)}\n\n${"b".repeat(200)}`;
    const run = await hermesAsync(["send", "slack:C0OPS", text, "--home", home]);
    expect(run.stdout).toMatch(/^sent: [0-9a-f-]{36} \(directly to slack:C0OPS; no gateway is running\)\n$/);
    expect(server.posted.map((p) => [p.channel, p.text.length])).toEqual([
      ["C0OPS", 3990],
      ["C0OPS", 200],
    ]);
    server.rejectToken = true;
    const refused = await hermesAsync(["send", "slack:C0OPS", "again", "--home", home]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      "Sending through slack failed: Slack rejected the bot token (SLACK_BOT_TOKEN or platforms.slack.bot_token): invalid_auth on chat.postMessage.\n",
    );
    for (const token of [BOT_TOKEN, APP_TOKEN])
      expect(run.stdout + run.stderr + refused.stdout).not.toContain(token);
  });
});

/** The envelope `envelopeId` as Slack sends it again: same id and payload, with retry_attempt. */
function redelivery(server: SlackTestServer, envelopeId: string): Record<string, unknown> {
  const original = server.sentFrames.find((f) => f.envelope_id === envelopeId);
  if (!original) throw new Error(`envelope ${envelopeId} was never sent`);
  return { ...original, retry_attempt: 1, retry_reason: "timeout" };
}
