import { definePlatform } from "../manifest.ts";

const isSlackToken = (x: string) => /^xox[abpr]-[A-Za-z0-9-]{10,}$/.test(x);
const isAppToken = (x: string) => /^xapp-\d-[A-Za-z0-9-]{10,}$/.test(x);

export default definePlatform({
  name: "slack",
  title: "Slack",
  envPrefix: "SLACK",
  credentials: [
    {
      key: "bot_token",
      env: "SLACK_BOT_TOKEN",
      secret: true,
      label: "bot token (xoxb-…)",
      shape: { test: (x) => /^xoxb-[A-Za-z0-9-]{10,}$/.test(x), describe: "a bot token starting with xoxb-" },
      distinctive: isSlackToken,
      publicPrefix: "xoxb-",
    },
    {
      key: "app_token",
      env: "SLACK_APP_TOKEN",
      secret: true,
      label: "app-level token (xapp-…)",
      shape: { test: isAppToken, describe: "an app-level token starting with xapp-" },
      distinctive: isAppToken,
      publicPrefix: "xapp-",
    },
  ],
  transport: { receive: "Socket Mode WebSocket", modes: ["socket"], webhook: false },
  apiBase: "https://slack.com/api",
  gatewayUrl: false,
  // Slack truncates past 40,000 characters and advises at most 4,000 per message.
  messageLimit: 4000,
  // The adapter pings every 5 s and drops a link whose pong is 5 s late; with server pings and envelopes, a
  // live link shows progress every few seconds, so 35 s without any is a backstop the adapter never needs.
  livenessMs: 35_000,
  chat: true,
  options: {},
  online: () => import("./online.ts").then((m) => m.checkSlackTokens),
});
