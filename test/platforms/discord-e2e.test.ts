/**
 * Discord end to end with the compiled binary (Bun) against the Discord test server: a message reaches the echo
 * agent and the reply is POSTed back; a zombie connection is resumed; the restart-loop seed (the token refused
 * with 4004, then a privileged intent refused with 4014 after a reload) is `failed` with the reason in plain
 * words while the webhook platform keeps working and the process never exits. All output is searched for the token.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  capturedOutput,
  type GatewayProcess,
  platformStatus,
  startGatewayHome,
  status,
  waitFor,
} from "../helpers/gateway.ts";
import { postMessage, type Receiver, receiver, SECRET } from "../helpers/receiver.ts";
import { DiscordTestServer } from "../kit/discord-server.ts";

const TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GxE2eE.e2eSecretTokenValue_doNotLeakMe01";
const USER = "800000000000000001";
let server: DiscordTestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function gateway(reply: Receiver) {
  server = await DiscordTestServer.start(TOKEN, { heartbeatIntervalMs: 1000 });
  const started = await startGatewayHome({
    gateway: "  reconnect: { initial: 50ms, max: 500ms }\n",
    platforms: `  discord:
    allowed_users: ["${USER}"]
    api_base: ${server.url}
  webhook:
    allowed_users: [u1]
    reply_url: ${reply.url}
`,
    env: `DISCORD_BOT_TOKEN=${TOKEN}\nWEBHOOK_SECRET=${SECRET}\n`,
  });
  return { ...started, server };
}

const discordState = (gw: GatewayProcess) => platformStatus(gw, "discord");

/** The webhook platform still answers and its reply is delivered. */
async function webhookWorks(port: number, reply: Receiver, id: string) {
  const res = await postMessage(port, {
    chat_id: "c1",
    user_id: "u1",
    text: `webhook ${id}`,
    message_id: id,
  });
  expect(res.status).toBe(202);
  await waitFor("the webhook reply", () => reply.delivered().some((d) => d.body.text === `webhook ${id}`));
}

describe("Discord through the compiled binary", () => {
  it("a message reaches the echo agent and the reply arrives on Discord; a zombie is resumed; the token leaks nowhere", async () => {
    const reply = await receiver();
    const { gw, server } = await gateway(reply);
    await waitFor("discord connected", async () => (await discordState(gw))?.state === "connected");
    const id = server.userSays({ channelId: "900000000000000042", userId: USER, text: "hello from Discord" });
    await waitFor("the reply", () => server.sent.length >= 1);
    expect(server.sent[0]).toMatchObject({
      channel_id: "900000000000000042",
      content: "hello from Discord",
      message_reference: { message_id: id },
    });
    // A user not in allowed_users gets nothing.
    server.userSays({ channelId: "900000000000000043", userId: "800000000000000999", text: "let me in" });
    await waitFor("the refusal to be logged", () => gw.logs.some((l) => l.event === "message.refused"));
    expect(server.sent.filter((m) => m.channel_id === "900000000000000043")).toEqual([]);

    server.zombify();
    server.userSays({ channelId: "900000000000000042", userId: USER, text: "during the zombie" });
    await waitFor("the resume", () => server.resumes.length === 1, 10_000);
    await waitFor("the reply after the resume", () =>
      server.sent.some((m) => m.content === "during the zombie"),
    );
    expect(server.clientCloses).toContain(4200);
    expect(server.identifies).toHaveLength(1);
    const after = await discordState(gw);
    expect(after).toMatchObject({ state: "connected", reconnects: 1 });
    expect(gw.logs.some((l) => l.event === "discord.zombie")).toBe(true);

    const output = await capturedOutput(gw);
    expect(output).toContain("zombie connection");
    expect(output).not.toContain(TOKEN);
    for (const part of TOKEN.split(".")) expect(output).not.toContain(part);
  });

  it("seed, restart loop: 4004 and then 4014 are `failed` with the reason; the webhook keeps working; no exit", async () => {
    const reply = await receiver();
    const { gw, port, server } = await gateway(reply);
    await waitFor("discord connected", async () => (await discordState(gw))?.state === "connected");

    // The token is reset: the session's connection drops, and the Resume is refused with 4004.
    server.rejectToken = true;
    server.closeAll(4000);
    await waitFor("discord failed", async () => (await discordState(gw))?.state === "failed");
    expect((await discordState(gw))?.reason).toMatch(
      /^Discord rejected the bot token; check DISCORD_BOT_TOKEN or platforms\.discord\.token \(close 4004 Authentication failed\)$/,
    );
    const resumesAtFailure = server.resumes.length + server.identifies.length;
    await webhookWorks(port, reply, "m1");
    // `failed` is not retried: no new Resume or Identify came while the webhook was served.
    expect(server.resumes.length + server.identifies.length).toBe(resumesAtFailure);
    expect((await status(gw)).state).toBe("degraded");

    // A new token, but MESSAGE_CONTENT is not enabled for the bot; SIGHUP retries the failed platform.
    server.rejectToken = false;
    server.allowedPrivileged = 0;
    gw.child.kill("SIGHUP");
    await waitFor("the Identify after the reload", () => server.identifies.length === 2);
    await waitFor("discord failed again", async () => {
      const d = await discordState(gw);
      return d?.state === "failed" && d.reason?.includes("4014");
    });
    expect((await discordState(gw))?.reason).toMatch(
      /^privileged intent MESSAGE_CONTENT not enabled for this bot \(close 4014 Disallowed intent\(s\)\)/,
    );
    await webhookWorks(port, reply, "m2");
    expect(gw.exit).toBeUndefined();
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

    const output = await capturedOutput(gw);
    expect(output).not.toContain(TOKEN);
    for (const part of TOKEN.split(".")) expect(output).not.toContain(part);
  });
});
