/**
 * The test server is only worth what it is faithful to: grammy, an independent Bot API client, logs in to it,
 * receives a message through its own polling loop and sends one; and the switches answer as Telegram does.
 */
import { Bot, GrammyError } from "grammy";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/wait.ts";
import { BOT, TelegramTestServer } from "./telegram-server.ts";

const TOKEN = "7000001:AAFakeTokenForGrammyFaithfulness_0123456";
let server: TelegramTestServer;

afterEach(async () => {
  await server?.close();
});

describe("the Telegram test server, through grammy", () => {
  it("logs in, receives a message by long polling, and records the reply", async () => {
    server = await TelegramTestServer.start(TOKEN);
    const bot = new Bot(TOKEN, { client: { apiRoot: server.url } });
    const received: string[] = [];
    bot.on("message:text", async (ctx) => {
      received.push(ctx.message.text);
      await ctx.reply(`echo: ${ctx.message.text}`);
    });
    bot.catch((error) => {
      throw error.error;
    });
    const me = await bot.api.getMe();
    expect(me.username).toBe(BOT.username);
    const polling = bot.start({ timeout: 1, drop_pending_updates: false });
    try {
      server.pushMessage({ chatId: 4242, userId: 4242, text: "hello grammy" });
      await waitFor("grammy to reply", () => server.sent.length === 1, 10_000);
      expect(received).toEqual(["hello grammy"]);
      expect(server.sent[0]).toMatchObject({ chat_id: "4242", text: "echo: hello grammy" });
      // grammy called deleteWebhook before polling, and confirmed the update with its next offset.
      expect(server.calls).toContain("deleteWebhook");
      await waitFor("the update to be confirmed", () => server.unconfirmed === 0, 5000);
    } finally {
      await bot.stop();
      await polling;
    }
  });

  it("answers a wrong token with 401 in the error envelope", async () => {
    server = await TelegramTestServer.start(TOKEN);
    const bot = new Bot("7000001:AAwrongwrongwrongwrongwrongwrongwrong", { client: { apiRoot: server.url } });
    const error = await bot.api.getMe().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GrammyError);
    expect((error as GrammyError).error_code).toBe(401);
    expect((error as GrammyError).description).toBe("Unauthorized");
  });

  it("gives 429 with parameters.retry_after, 409 while a webhook is set, and 400 for a too long message", async () => {
    server = await TelegramTestServer.start(TOKEN);
    const bot = new Bot(TOKEN, { client: { apiRoot: server.url } });
    server.rateLimit = { count: 1, retryAfter: 7 };
    const limited = (await bot.api.getMe().catch((e: unknown) => e)) as GrammyError;
    expect(limited.error_code).toBe(429);
    expect(limited.parameters.retry_after).toBe(7);

    await bot.api.setWebhook("http://127.0.0.1:9/webhooks/telegram", { secret_token: "s3cret" });
    expect(server.webhook).toEqual({ url: "http://127.0.0.1:9/webhooks/telegram", secret_token: "s3cret" });
    const conflict = (await bot.api.getUpdates({ timeout: 0 }).catch((e: unknown) => e)) as GrammyError;
    expect(conflict.error_code).toBe(409);
    expect(conflict.description).toMatch(/webhook is active/);
    await bot.api.deleteWebhook();
    expect(await bot.api.getUpdates({ timeout: 0 })).toEqual([]);

    const tooLong = (await bot.api.sendMessage(1, "x".repeat(4097)).catch((e: unknown) => e)) as GrammyError;
    expect(tooLong.error_code).toBe(400);
    expect(server.sent).toHaveLength(0);
  });

  it("holds a long poll until an update arrives, and forgets updates below the offset", async () => {
    server = await TelegramTestServer.start(TOKEN);
    const bot = new Bot(TOKEN, { client: { apiRoot: server.url } });
    const poll = bot.api.getUpdates({ timeout: 10 });
    await waitFor("the poll to be held", () => server.pendingPolls === 1, 5000);
    const id = server.pushMessage({ chatId: 1, userId: 1, text: "late" });
    const updates = await poll;
    expect(updates.map((u) => u.update_id)).toEqual([id]);
    // Not confirmed yet: asked again without an offset, it comes again; with offset id+1, it is gone.
    expect((await bot.api.getUpdates({ timeout: 0 })).map((u) => u.update_id)).toEqual([id]);
    expect(await bot.api.getUpdates({ offset: id + 1, timeout: 0 })).toEqual([]);
    expect(await bot.api.getUpdates({ timeout: 0 })).toEqual([]);
  });
});
