import { definePlatform } from "../manifest.ts";

const isClientId = (x: string) => /^ding[a-z0-9]{12,}$/.test(x);

export default definePlatform({
  name: "dingtalk",
  title: "DingTalk",
  envPrefix: "DINGTALK",
  credentials: [
    {
      key: "client_id",
      env: "DINGTALK_CLIENT_ID",
      secret: false,
      label: "client id (AppKey)",
      shape: { test: isClientId, describe: "ding followed by at least 12 lowercase letters and digits" },
      distinctive: isClientId,
    },
    {
      key: "client_secret",
      env: "DINGTALK_CLIENT_SECRET",
      secret: true,
      label: "client secret (AppSecret)",
      shape: {
        test: (x) => /^[A-Za-z0-9_-]{32,128}$/.test(x),
        describe: "32 to 128 letters, digits, - and _",
      },
    },
  ],
  transport: { receive: "Stream mode WebSocket", modes: ["stream"], webhook: false },
  apiBase: "https://api.dingtalk.com",
  gatewayUrl: false,
  messageLimit: 5000,
  // The server sends SYSTEM pings; a silent minute means the stream is dead.
  livenessMs: 60_000,
  chat: true,
  options: {},
});
