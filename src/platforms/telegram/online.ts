/** `lint config --online` for Telegram: getMe says whether the bot token is valid, and whose it is. */
import { PlatformError } from "../adapter.ts";
import type { OnlineCheck } from "../manifest.ts";
import { BotApi, type TelegramUser } from "./api.ts";

export const checkTelegramToken: OnlineCheck = async ({ credentials, block, timeoutMs }) => {
  const api = new BotApi({
    token: credentials.token ?? "",
    base: typeof block.api_base === "string" ? block.api_base : undefined,
  });
  try {
    const me = await api.call<TelegramUser>("getMe", {}, { timeoutMs });
    return { status: "valid", identity: me?.username ? `@${me.username}` : `bot ${me?.id ?? "?"}` };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof PlatformError && error.kind === "auth") return { status: "rejected", message };
    return { status: "unreachable", message };
  }
};
