import * as v from "valibot";
import { definePlatform } from "../manifest.ts";
import { isDiscordToken } from "../shapes.ts";

/** Gateway intents by name (discord-api-types GatewayIntentBits). */
export const DISCORD_INTENTS: Record<string, number> = {
  GUILDS: 1 << 0,
  GUILD_MEMBERS: 1 << 1,
  GUILD_MESSAGES: 1 << 9,
  GUILD_MESSAGE_REACTIONS: 1 << 10,
  DIRECT_MESSAGES: 1 << 12,
  DIRECT_MESSAGE_REACTIONS: 1 << 13,
  MESSAGE_CONTENT: 1 << 15,
};

export default definePlatform({
  name: "discord",
  title: "Discord",
  envPrefix: "DISCORD",
  credentials: [
    {
      key: "token",
      env: "DISCORD_BOT_TOKEN",
      secret: true,
      label: "bot token",
      shape: { test: isDiscordToken, describe: "three dot-separated parts, the first encoding the bot's id" },
      distinctive: isDiscordToken,
    },
  ],
  transport: { receive: "Gateway v10 WebSocket", modes: ["gateway"], webhook: false },
  apiBase: "https://discord.com/api",
  gatewayUrl: false,
  messageLimit: 2000,
  // Heartbeat interval (about 41 s) plus the ACK deadline (at most 10 s), rounded up.
  livenessMs: 60_000,
  chat: true,
  options: {
    intents: v.optional(
      v.union(
        [
          v.array(
            v.picklist(
              Object.keys(DISCORD_INTENTS),
              `intent names: ${Object.keys(DISCORD_INTENTS).join(", ")}`,
            ),
          ),
          v.pipe(v.number(), v.integer(), v.minValue(0)),
        ],
        "a list of intent names or an intents bit field",
      ),
    ),
  },
  online: () => import("./online.ts").then((m) => m.checkDiscordToken),
});
