import * as v from "valibot";
import { definePlatform } from "../manifest.ts";

export default definePlatform({
  name: "matrix",
  title: "Matrix",
  envPrefix: "MATRIX",
  credentials: [
    { key: "homeserver", env: "MATRIX_HOMESERVER", secret: false, label: "homeserver URL", isUrl: true },
    {
      key: "access_token",
      env: "MATRIX_ACCESS_TOKEN",
      secret: true,
      label: "access token",
      shape: {
        test: (x) => /^[A-Za-z0-9_.=+/-]{16,}$/.test(x),
        describe: "an access token (Synapse issues syt_…)",
      },
      distinctive: (x) => /^syt_[A-Za-z0-9]+_[A-Za-z0-9]+_[A-Za-z0-9]+$/.test(x),
      publicPrefix: "syt_",
    },
  ],
  transport: { receive: "/sync long polling", modes: ["sync"], webhook: false },
  gatewayUrl: false,
  messageLimit: 30_000,
  // A /sync returns within its 30 s timeout; one pending past 60 s is stale.
  livenessMs: 60_000,
  chat: true,
  options: {
    user_id: v.optional(v.string("a user id such as @bot:example.org")),
  },
});
