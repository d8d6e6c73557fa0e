/** `lint config --online` for Discord: `GET /users/@me` says whether the bot token is valid, and whose it is. */
import { PlatformError } from "../adapter.ts";
import type { OnlineCheck } from "../manifest.ts";
import { DiscordRest, type DiscordUser } from "./rest.ts";

export const checkDiscordToken: OnlineCheck = async ({ credentials, block, timeoutMs }) => {
  const rest = new DiscordRest({
    token: credentials.token ?? "",
    base: typeof block.api_base === "string" ? block.api_base : undefined,
  });
  try {
    const me = await rest.request<DiscordUser | null>("GET", "/users/@me", { timeoutMs });
    if (typeof me?.id !== "string")
      return { status: "unreachable", message: "GET /users/@me answered without an id" };
    return { status: "valid", identity: me.username ? `${me.username} (${me.id})` : `bot ${me.id}` };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof PlatformError && error.kind === "auth") return { status: "rejected", message };
    return { status: "unreachable", message };
  }
};
