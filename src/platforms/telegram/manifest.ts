import * as v from "valibot";
import { duration, secret, url } from "../../config/fields.ts";
import { definePlatform } from "../manifest.ts";
import { TELEGRAM_TOKEN } from "../shapes.ts";

export default definePlatform({
  name: "telegram",
  title: "Telegram",
  envPrefix: "TELEGRAM",
  credentials: [
    {
      key: "token",
      env: "TELEGRAM_BOT_TOKEN",
      secret: true,
      label: "bot token",
      shape: { test: (x) => TELEGRAM_TOKEN.test(x), describe: '"<bot id>:<secret>" as @BotFather gives it' },
      distinctive: (x) => TELEGRAM_TOKEN.test(x),
    },
  ],
  transport: {
    receive: "long polling (getUpdates), or webhook",
    modes: ["polling", "webhook"],
    webhook: true,
  },
  apiBase: "https://api.telegram.org",
  gatewayUrl: false,
  defaultPort: 8443,
  messageLimit: 4096,
  // A long poll returns within its timeout (30 s); one pending past timeout + grace (60 s in all) is stale.
  livenessMs: 60_000,
  chat: true,
  options: {
    poll_timeout: v.optional(duration(), "30s"),
    webhook_url: v.optional(url()),
    webhook_secret: v.optional(secret("TELEGRAM_WEBHOOK_SECRET")),
  },
  online: () => import("./online.ts").then((m) => m.checkTelegramToken),
});
