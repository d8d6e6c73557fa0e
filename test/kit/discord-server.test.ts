/**
 * The test server is only worth what it is faithful to: @discordjs/ws (WebSocketManager, pointed at the server
 * through @discordjs/rest's `api` option) fetches /gateway/bot, identifies, receives a MESSAGE_CREATE, detects a
 * zombie and resumes with a replay; @discordjs/rest sends a message, rides out a 429, and reads the 401 body.
 */
import { DiscordAPIError, REST } from "@discordjs/rest";
import { WebSocketManager, WebSocketShardEvents } from "@discordjs/ws";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/wait.ts";
import { BOT_USER, DiscordTestServer, PRIVILEGED } from "./discord-server.ts";

const TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GfaKe1.discordjsFaithfulnessToken_0123";
const GUILD_MESSAGES = 1 << 9;
const DIRECT_MESSAGES = 1 << 12;

let server: DiscordTestServer;
let manager: WebSocketManager | undefined;

afterEach(async () => {
  await Promise.resolve(manager?.destroy()).catch(() => {});
  manager = undefined;
  await server?.close();
});

function connect(intents: number, token = TOKEN) {
  // The REST client always has the right token (so /gateway/bot answers); `token` is what Identify carries.
  const rest = new REST({ api: server.url, retries: 0 }).setToken(TOKEN);
  manager = new WebSocketManager({ token, intents, rest });
  const dispatches: { t: string; d: unknown }[] = [];
  const errors: Error[] = [];
  const closes: number[] = [];
  manager.on(WebSocketShardEvents.Dispatch, (payload) => dispatches.push({ t: payload.t, d: payload.d }));
  manager.on(WebSocketShardEvents.Error, (error) => errors.push(error));
  manager.on(WebSocketShardEvents.Closed, (code) => closes.push(code));
  return { rest, manager, dispatches, errors, closes };
}

describe("the Discord test server, through @discordjs/ws and @discordjs/rest", () => {
  it("identifies, receives a MESSAGE_CREATE, and a message sent with @discordjs/rest is recorded", async () => {
    server = await DiscordTestServer.start(TOKEN, { heartbeatIntervalMs: 1000 });
    const { rest, manager, dispatches } = connect(
      GUILD_MESSAGES | DIRECT_MESSAGES | PRIVILEGED.MESSAGE_CONTENT,
    );
    await manager.connect();
    expect(server.calls[0]).toBe("GET /gateway/bot");
    expect(server.identifies).toEqual([
      expect.objectContaining({
        intents: GUILD_MESSAGES | DIRECT_MESSAGES | PRIVILEGED.MESSAGE_CONTENT,
        tokenOk: true,
      }),
    ]);
    expect(server.connections[0]).toEqual({ path: "/gateway", query: { v: "10", encoding: "json" } });
    await waitFor("READY", () => dispatches.some((d) => d.t === "READY"));
    const id = server.userSays({ channelId: "900000000000000042", text: "hello discord.js" });
    const created = await waitFor("MESSAGE_CREATE", () => dispatches.find((d) => d.t === "MESSAGE_CREATE"));
    expect(created.d).toMatchObject({ id, channel_id: "900000000000000042", content: "hello discord.js" });

    const me = (await rest.get("/users/@me")) as { id: string };
    expect(me.id).toBe(BOT_USER.id);
    await rest.post("/channels/900000000000000042/messages", {
      body: { content: "reply from discord.js", message_reference: { message_id: id } },
    });
    expect(server.sent).toEqual([
      expect.objectContaining({
        channel_id: "900000000000000042",
        content: "reply from discord.js",
        message_reference: { message_id: id },
      }),
    ]);
  });

  it("a zombie (ACKs stop, TCP open) is closed by discord.js and resumed at resume_gateway_url with the replay", async () => {
    server = await DiscordTestServer.start(TOKEN, { heartbeatIntervalMs: 200 });
    const { manager, dispatches } = connect(GUILD_MESSAGES);
    await manager.connect();
    await waitFor("READY", () => dispatches.some((d) => d.t === "READY"));
    server.zombie = true;
    server.userSays({ text: "sent during the outage" });
    // discord.js closes a zombie with 4200 (its "resume" code).
    await waitFor("discord.js to close the zombie", () => server.clientCloses.includes(4200), 5000);
    server.zombie = false;
    await waitFor("RESUMED", () => dispatches.some((d) => d.t === "RESUMED"), 5000);
    expect(server.resumes).toEqual([expect.objectContaining({ tokenOk: true, seq: 1 })]);
    expect(server.connections.at(-1)).toEqual({ path: "/resume", query: { v: "10", encoding: "json" } });
    const texts = dispatches
      .filter((d) => d.t === "MESSAGE_CREATE")
      .map((d) => (d.d as { content: string }).content);
    expect(texts).toEqual(["sent during the outage"]);
  });

  it("a wrong token: REST answers 401 in Discord's body, the gateway closes 4004", async () => {
    server = await DiscordTestServer.start(TOKEN, { heartbeatIntervalMs: 1000 });
    const rest = new REST({ api: server.url, retries: 0 }).setToken("wrong.token.value");
    const error = await rest.get("/users/@me").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect((error as DiscordAPIError).status).toBe(401);
    expect((error as DiscordAPIError).rawError).toEqual({ message: "401: Unauthorized", code: 0 });

    const wrong = connect(GUILD_MESSAGES, "wrong.token.value");
    void wrong.manager.connect().catch(() => {});
    await waitFor("close 4004", () => wrong.closes.includes(4004), 5000);
    expect(server.identifies).toEqual([expect.objectContaining({ tokenOk: false })]);
  });

  it("a privileged intent not allowed closes 4014", async () => {
    server = await DiscordTestServer.start(TOKEN, { heartbeatIntervalMs: 1000 });
    server.allowedPrivileged = 0;
    const { manager, closes } = connect(GUILD_MESSAGES | PRIVILEGED.MESSAGE_CONTENT);
    void manager.connect().catch(() => {});
    await waitFor("close 4014", () => closes.includes(4014), 5000);
    expect(server.identifies[0]?.tokenOk).toBe(true);
  });

  it("a 429 with retry_after is waited out by @discordjs/rest and the message is recorded once", async () => {
    server = await DiscordTestServer.start(TOKEN);
    const rest = new REST({ api: server.url, retries: 0 }).setToken(TOKEN);
    server.rateLimit = { count: 1, retryAfter: 0.2, global: false };
    await rest.post("/channels/900000000000000007/messages", { body: { content: "after the limit" } });
    expect(server.count("POST /channels/{id}/messages")).toBe(2);
    expect(server.sent.map((m) => m.content)).toEqual(["after the limit"]);
  });
});
