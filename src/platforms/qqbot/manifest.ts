import * as v from "valibot";
import { bool } from "../../config/fields.ts";
import { definePlatform } from "../manifest.ts";

export default definePlatform({
  name: "qqbot",
  title: "QQ",
  envPrefix: "QQ",
  credentials: [
    {
      key: "app_id",
      env: "QQ_APP_ID",
      secret: false,
      label: "app id",
      shape: { test: (x) => /^\d{6,12}$/.test(x), describe: "the numeric AppID" },
    },
    {
      key: "client_secret",
      env: "QQ_CLIENT_SECRET",
      secret: true,
      label: "client secret",
      shape: { test: (x) => /^[A-Za-z0-9]{16,64}$/.test(x), describe: "16 to 64 letters and digits" },
    },
  ],
  transport: { receive: "WebSocket gateway, or webhook", modes: ["websocket", "webhook"], webhook: true },
  apiBase: "https://api.sgroup.qq.com",
  gatewayUrl: false,
  messageLimit: 2000,
  // Heartbeat every 45 s, ACK expected before the next one.
  livenessMs: 60_000,
  chat: true,
  options: {
    sandbox: v.optional(bool(), false),
  },
});
