/**
 * The generic `webhook` platform: signed JSON in on POST /webhooks/webhook, signed JSON out to `reply_url`.
 * It is inbound-only (no connection to keep alive), so it is `connected` once its route is live.
 */
import * as v from "valibot";
import { outboundFetch } from "../../runtime/fetch.ts";
import { type Adapter, type AdapterContext, PlatformError } from "../adapter.ts";
import { SIGNATURE_HEADER, sign, TIMESTAMP_HEADER, verify } from "./signature.ts";

const MAX_BODY = 1024 * 1024;

const Inbound = v.object({
  chat_id: v.union([v.string(), v.number()]),
  user_id: v.union([v.string(), v.number()]),
  text: v.string(),
  message_id: v.union([v.string(), v.number()]),
});

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

export function createWebhookAdapter(ctx: AdapterContext): Adapter {
  const secret = ctx.credentials.secret ?? "";
  const replyUrl = ctx.block.reply_url as string | undefined;
  return {
    async run() {
      ctx.connected();
      // Nothing to poll: the route receives. Wait until the supervisor tears this down.
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) resolve();
        else ctx.signal.addEventListener("abort", () => resolve(), { once: true });
      });
    },

    async webhook(request: Request) {
      if (request.method !== "POST") return json(405, { error: "use POST" });
      const length = Number(request.headers.get("content-length") ?? 0);
      if (length > MAX_BODY) return json(413, { error: "body too large" });
      const body = await request.text();
      if (body.length > MAX_BODY) return json(413, { error: "body too large" });
      const verdict = verify(
        secret,
        body,
        request.headers.get(SIGNATURE_HEADER),
        request.headers.get(TIMESTAMP_HEADER),
        Math.floor(Date.now() / 1000),
      );
      if (!verdict.ok) {
        ctx.log.warn("webhook.rejected", `webhook rejected: ${verdict.reason}`);
        return json(401, { error: verdict.reason });
      }
      let parsed: v.InferOutput<typeof Inbound>;
      try {
        parsed = v.parse(Inbound, JSON.parse(body));
      } catch {
        return json(400, { error: 'body must be JSON {"chat_id","user_id","text","message_id"}' });
      }
      ctx.progress();
      const result = await ctx.receive({
        platform: ctx.manifest.name,
        chatId: String(parsed.chat_id),
        userId: String(parsed.user_id),
        messageId: String(parsed.message_id),
        text: parsed.text,
        at: new Date(),
      });
      if (result.status === "accepted") return json(202, { id: result.id });
      if (result.status === "duplicate") return json(200, { duplicate: true });
      if (result.status === "forbidden") return json(403, { error: "user not allowed" });
      if (result.status === "ignored") return json(200, { ignored: true });
      return json(503, { error: "the gateway is not taking messages right now; retry later" });
    },

    async send(message) {
      if (!replyUrl)
        throw new PlatformError(
          "protocol",
          "platforms.webhook.reply_url is not set: nowhere to send replies",
        );
      const body = JSON.stringify({
        id: message.id,
        chat_id: message.chatId,
        text: message.text,
        in_reply_to: message.inReplyTo,
      });
      const timestamp = Math.floor(Date.now() / 1000);
      let response: Response;
      try {
        response = await outboundFetch(replyUrl, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            [SIGNATURE_HEADER]: sign(secret, body, timestamp),
            [TIMESTAMP_HEADER]: String(timestamp),
          },
          body,
          signal: AbortSignal.timeout(30_000),
        });
      } catch (error) {
        throw new PlatformError(
          "transient",
          `reply_url unreachable: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      await response.body?.cancel();
      if (response.ok) return;
      if (response.status === 429) {
        const after = Number(response.headers.get("retry-after"));
        throw new PlatformError(
          "rate_limit",
          "reply_url answered 429",
          Number.isFinite(after) ? after * 1000 : undefined,
        );
      }
      if (response.status >= 500)
        throw new PlatformError("transient", `reply_url answered ${response.status}`);
      // 4xx other than 429: retrying the same request cannot succeed.
      throw new PlatformError("protocol", `reply_url answered ${response.status}`);
    },
  };
}
