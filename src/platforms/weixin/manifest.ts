import { definePlatform } from "../manifest.ts";

export default definePlatform({
  name: "weixin",
  title: "WeChat",
  envPrefix: "WEIXIN",
  credentials: [
    { key: "token", env: "WEIXIN_TOKEN", secret: true, label: "token" },
    { key: "account_id", env: "WEIXIN_ACCOUNT_ID", secret: false, label: "account id" },
  ],
  transport: { receive: "long polling (iLink getupdates)", modes: ["polling"], webhook: false },
  apiBase: "https://ilinkai.weixin.qq.com",
  gatewayUrl: false,
  messageLimit: 2000,
  livenessMs: 60_000,
  chat: true,
  options: {},
});
