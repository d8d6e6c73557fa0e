import * as v from "valibot";
import { secret } from "../../config/fields.ts";
import { definePlatform } from "../manifest.ts";

const isAppId = (x: string) => /^cli_[a-z0-9]{16}$/.test(x);

export default definePlatform({
  name: "feishu",
  title: "Feishu/Lark",
  envPrefix: "FEISHU",
  credentials: [
    {
      key: "app_id",
      env: "FEISHU_APP_ID",
      secret: false,
      label: "app id (cli_…)",
      shape: { test: isAppId, describe: "cli_ followed by 16 lowercase letters and digits" },
      distinctive: isAppId,
    },
    {
      key: "app_secret",
      env: "FEISHU_APP_SECRET",
      secret: true,
      label: "app secret",
      shape: { test: (x) => /^[A-Za-z0-9]{32}$/.test(x), describe: "32 letters and digits" },
    },
  ],
  transport: {
    receive: "long connection WebSocket, or webhook",
    modes: ["websocket", "webhook"],
    webhook: true,
  },
  apiBase: "https://open.feishu.cn",
  gatewayUrl: false,
  defaultPort: 8765,
  messageLimit: 10_000,
  // Client pings every 120 s; a pong (or any frame) must follow within 30 s.
  livenessMs: 150_000,
  chat: true,
  options: {
    verification_token: v.optional(secret("FEISHU_VERIFICATION_TOKEN")),
    encrypt_key: v.optional(secret("FEISHU_ENCRYPT_KEY")),
  },
});
