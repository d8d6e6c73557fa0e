/**
 * Telegram over the Bot API, spoken directly over fetch so that every wait has a deadline of ours (upstream's
 * zombies were SDK loops that hung or gave up silently). Long polling: getMe, deleteWebhook, then getUpdates in
 * a loop whose polls are abandoned at timeout + grace (60 s at most); an update is confirmed (the next offset)
 * only once the gateway has it in its inbound journal. Webhook mode: setWebhook with a secret token, updates on
 * POST /webhooks/telegram, and getMe as the sign of life of an idle bot. Errors leave as classified
 * PlatformErrors; retrying them is the supervisor's job.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { splitText } from "../../outbox/split.ts";
import type { FetchLike } from "../../runtime/fetch.ts";
import {
  type Adapter,
  type AdapterContext,
  type InboundMessage,
  type OutboundMessage,
  PlatformError,
} from "../adapter.ts";
import { DeliveredParts } from "../delivered-parts.ts";
import { BotApi, isStale, type TelegramUser } from "./api.ts";

export interface TelegramAdapterOptions {
  fetch?: FetchLike;
  /** How long a poll may run past its timeout before it counts as stale. @default 10 s */
  pollGraceMs?: number;
  /** How often an idle webhook-mode bot proves the API answers (getMe). @default half the liveness limit */
  idleCheckMs?: number;
  /** Pause before offering updates again that the gateway could not take (it was draining). @default 1 s */
  refusedPauseMs?: number;
}

export const SECRET_HEADER = "x-telegram-bot-api-secret-token";
/** A stale poll is abandoned at timeout + grace, and that sum never exceeds this (SPEC §3). */
export const MAX_POLL_DEADLINE_MS = 60_000;
const MAX_POLL_TIMEOUT_S = 50;
const REQUEST_TIMEOUT_MS = 30_000;
const ALLOWED_UPDATES = ["message"];
/** A first poll the server has held this long is a long poll under way: the platform counts as connected. */
const FIRST_POLL_HELD_MS = 500;

/** Parts of a split message already delivered, by message id: a retry resumes instead of repeating them. */
const deliveredParts = new DeliveredParts();
/** The next offset per API server and bot, across reconnects: a confirmed update is not offered again. */
const offsets = new Map<string, number>();

/** The poll's `timeout` (whole seconds, as the Bot API takes it) and the deadline past which it is stale. */
export function pollTiming(pollTimeoutMs: number, graceMs: number): { timeoutS: number; deadlineMs: number } {
  const timeoutS = Math.min(MAX_POLL_TIMEOUT_S, Math.max(1, Math.round(pollTimeoutMs / 1000)));
  return { timeoutS, deadlineMs: Math.min(MAX_POLL_DEADLINE_MS, timeoutS * 1000 + graceMs) };
}

/** The secret Telegram sends back on every webhook: configured, else derived from the token (stable, private). */
export function webhookSecret(token: string, configured: unknown): string {
  if (typeof configured === "string" && configured !== "") return configured;
  return createHmac("sha256", token).update("hermes telegram webhook").digest("hex");
}

export function createTelegramAdapter(ctx: AdapterContext, options: TelegramAdapterOptions = {}): Adapter {
  const token = ctx.credentials.token ?? "";
  const api = new BotApi({
    token,
    base: typeof ctx.block.api_base === "string" ? ctx.block.api_base : undefined,
    fetch: options.fetch,
  });
  const mode = ctx.block.mode === "webhook" ? "webhook" : "polling";
  const { timeoutS, deadlineMs } = pollTiming(
    typeof ctx.block.poll_timeout === "number" ? ctx.block.poll_timeout : 30_000,
    options.pollGraceMs ?? 10_000,
  );
  const secret = webhookSecret(token, ctx.block.webhook_secret);
  const idleCheckMs = options.idleCheckMs ?? (ctx.manifest.livenessMs ?? 60_000) / 2;
  let me: TelegramUser | undefined;
  let stalePolls = 0;

  const call = <T>(method: string, params: Record<string, unknown> = {}, timeoutMs = REQUEST_TIMEOUT_MS) =>
    api.call<T>(method, params, { signal: ctx.signal, timeoutMs });

  async function poll(): Promise<void> {
    const bot = me as TelegramUser;
    const key = `${api.host}|${bot.id}`;
    await call("deleteWebhook", { drop_pending_updates: false });
    let first = true;
    while (!ctx.signal.aborted) {
      const offset = offsets.get(key);
      const request = call<unknown>(
        "getUpdates",
        {
          ...(offset ? { offset } : {}),
          timeout: timeoutS,
          limit: 100,
          // Telegram keeps the last setting: sent once, as grammy does.
          ...(first ? { allowed_updates: ALLOWED_UPDATES } : {}),
        },
        deadlineMs,
      );
      // Connected once the first poll is under way: answered, or held by the server (a long poll). An
      // immediate refusal (409, 401) so never shows as connected for an instant.
      const held = first ? setTimeout(() => ctx.connected(), FIRST_POLL_HELD_MS) : undefined;
      let updates: unknown;
      try {
        updates = await request;
        if (first) ctx.connected();
      } catch (error) {
        if (!isStale(error)) throw error;
        stalePolls++;
        ctx.count("stale_poll");
        ctx.log.warn(
          "telegram.stale_poll",
          `getUpdates did not return within ${deadlineMs / 1000} s (timeout ${timeoutS} s + grace): abandoned as a stale poll; reconnecting`,
          { stale_polls: stalePolls, deadline_ms: deadlineMs },
        );
        throw new PlatformError(
          "transient",
          `stale poll: getUpdates pending past its ${deadlineMs / 1000} s deadline (timeout ${timeoutS} s + grace)`,
        );
      } finally {
        clearTimeout(held);
        first = false;
      }
      ctx.progress();
      if (!Array.isArray(updates))
        throw new PlatformError("protocol", "getUpdates answered a result that is not a list of updates");
      await offer(bot, key, updates);
    }
  }

  /** Hands the updates to the gateway, then moves the offset past those it has (or never will take). */
  async function offer(bot: TelegramUser, key: string, updates: unknown[]): Promise<void> {
    const before = offsets.get(key) ?? 0;
    let highest = before - 1;
    let malformed = 0;
    const handed: Promise<{ id: number; taken: boolean }>[] = [];
    for (const update of updates) {
      const id = (update as { update_id?: unknown } | null)?.update_id;
      if (typeof id !== "number" || !Number.isSafeInteger(id)) {
        malformed++;
        continue;
      }
      highest = Math.max(highest, id);
      const message = normalize(update as Record<string, unknown>, bot, ctx.manifest.name);
      if (!message) continue;
      // Called in order: each call reaches the journal in order, and one disk write carries the batch.
      handed.push(
        ctx.receive(message).then(
          (r) => ({ id, taken: r.status !== "unavailable" }),
          () => ({ id, taken: false }),
        ),
      );
    }
    if (malformed > 0)
      ctx.log.warn("telegram.malformed", `skipped ${malformed} update(s) without a numeric update_id`);
    const refused = (await Promise.all(handed)).filter((r) => !r.taken).map((r) => r.id);
    if (refused.length > 0) {
      // Not confirmed: Telegram offers them again after the pause (those taken meanwhile are duplicates).
      offsets.set(key, Math.min(...refused));
      await sleep(options.refusedPauseMs ?? 1000, ctx.signal);
      return;
    }
    if (highest + 1 > before) offsets.set(key, highest + 1);
  }

  async function webhookMode(): Promise<void> {
    const url = ctx.block.webhook_url;
    if (typeof url !== "string" || url === "")
      throw new PlatformError(
        "auth",
        "platforms.telegram.webhook_url is not set: mode webhook needs the public HTTPS URL that reaches /webhooks/telegram",
      );
    await call("setWebhook", {
      url,
      secret_token: secret,
      allowed_updates: ALLOWED_UPDATES,
      drop_pending_updates: false,
    });
    ctx.connected();
    // Updates come as requests; between them, getMe shows the API still knows the bot.
    while (!ctx.signal.aborted) {
      await sleep(idleCheckMs, ctx.signal);
      if (ctx.signal.aborted) return;
      await call("getMe");
      ctx.progress();
    }
  }

  return {
    async run() {
      me = await call<TelegramUser>("getMe");
      if (typeof me?.id !== "number")
        throw new PlatformError("protocol", "getMe answered without the bot's numeric id");
      ctx.progress();
      if (mode === "webhook") await webhookMode();
      else await poll();
    },

    async send(message: OutboundMessage) {
      const parts = splitText(message.text, ctx.manifest.messageLimit);
      const replyTo = replyTarget(message);
      await deliveredParts.send(message.id, parts, async (part, i) => {
        await api.call(
          "sendMessage",
          {
            chat_id: message.chatId,
            text: part,
            ...(i === 0 && replyTo !== undefined
              ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } }
              : {}),
          },
          { timeoutMs: REQUEST_TIMEOUT_MS },
        );
      });
    },

    async webhook(request: Request) {
      if (mode !== "webhook") return json(404, { error: "telegram runs in polling mode" });
      if (request.method !== "POST") return json(405, { error: "use POST" });
      if (!sameSecret(request.headers.get(SECRET_HEADER), secret)) {
        ctx.log.warn("webhook.rejected", `telegram webhook rejected: missing or wrong ${SECRET_HEADER}`);
        return json(401, { error: `missing or wrong ${SECRET_HEADER}` });
      }
      let update: Record<string, unknown>;
      try {
        update = JSON.parse(await request.text());
      } catch {
        return json(400, { error: "the body is not JSON" });
      }
      ctx.progress();
      const message =
        me && update && typeof update === "object" ? normalize(update, me, ctx.manifest.name) : undefined;
      // Anything but a message we take is answered 200: Telegram would otherwise send it again and again.
      if (!message) return json(200, { ignored: true });
      const result = await ctx.receive(message);
      if (result.status === "unavailable")
        return json(503, { error: "the gateway is not taking messages right now" });
      return json(200, { status: result.status });
    },
  };
}

/** A Telegram update as a gateway message, or undefined for anything that is not a text message for us. */
export function normalize(
  update: Record<string, unknown>,
  bot: TelegramUser,
  platform = "telegram",
): InboundMessage | undefined {
  const m = update.message as Record<string, unknown> | undefined;
  if (!m || typeof m !== "object") return undefined;
  const chat = m.chat as { id?: unknown; type?: unknown } | undefined;
  const from = m.from as { id?: unknown; is_bot?: unknown } | undefined;
  const text = typeof m.text === "string" ? m.text : typeof m.caption === "string" ? m.caption : undefined;
  const chatId = chat?.id;
  if (text === undefined || (typeof chatId !== "number" && typeof chatId !== "string")) return undefined;
  if (typeof m.message_id !== "number") return undefined;
  if (from?.id === bot.id) return undefined;
  const group = chat?.type === "group" || chat?.type === "supergroup";
  const replyTo = (m.reply_to_message as { from?: { id?: unknown } } | undefined)?.from?.id;
  const mention = bot.username ? `@${bot.username.toLowerCase()}` : undefined;
  const mentioned = (mention !== undefined && text.toLowerCase().includes(mention)) || replyTo === bot.id;
  const date = typeof m.date === "number" ? new Date(m.date * 1000) : new Date();
  return {
    platform,
    chatId: String(chatId),
    userId: typeof from?.id === "number" || typeof from?.id === "string" ? String(from.id) : String(chatId),
    // message_id counts per chat: the chat makes it unique for de-duplication.
    messageId: `${chatId}:${m.message_id}`,
    text,
    at: Number.isNaN(date.getTime()) ? new Date() : date,
    ...(group ? { group: true, mentioned } : {}),
  };
}

/** The Telegram message id a reply answers, when it is in the same chat. */
function replyTarget(message: OutboundMessage): number | undefined {
  const to = message.inReplyTo;
  if (!to) return undefined;
  const colon = to.lastIndexOf(":");
  if (colon < 0 || to.slice(0, colon) !== message.chatId) return undefined;
  const id = Number(to.slice(colon + 1));
  return Number.isSafeInteger(id) ? id : undefined;
}

function sameSecret(given: string | null, expected: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
