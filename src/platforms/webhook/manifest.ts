import * as v from "valibot";
import { url } from "../../config/fields.ts";
import { definePlatform } from "../manifest.ts";

export default definePlatform({
  name: "webhook",
  title: "Webhook",
  envPrefix: "WEBHOOK",
  credentials: [
    {
      key: "secret",
      env: "WEBHOOK_SECRET",
      secret: true,
      label: "HMAC secret",
      shape: {
        test: (x) => x.length >= 16,
        describe: "at least 16 characters (an HMAC key should be long and random)",
      },
    },
  ],
  transport: { receive: "HTTP POST to /webhooks/webhook", modes: ["webhook"], webhook: true },
  gatewayUrl: false,
  messageLimit: 65_536,
  // Inbound-only: there is no connection whose progress could be watched.
  livenessMs: null,
  chat: false,
  options: {
    reply_url: v.optional(url()),
  },
});
