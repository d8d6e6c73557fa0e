/**
 * `lint config --online` for Slack: auth.test says whether the bot token is valid and whose it is;
 * apps.connections.open says whether the app-level token may open Socket Mode (the single-use URL it hands out
 * is left unused and expires).
 */
import { PlatformError } from "../adapter.ts";
import type { OnlineCheck } from "../manifest.ts";
import { SlackApi } from "./api.ts";

export const checkSlackTokens: OnlineCheck = async ({ credentials, block, timeoutMs }) => {
  const api = new SlackApi(
    { bot: credentials.bot_token ?? "", app: credentials.app_token ?? "" },
    { base: typeof block.api_base === "string" ? block.api_base : undefined },
  );
  try {
    const who = await api.call<{ user?: unknown; team?: unknown }>("auth.test", "bot", undefined, {
      timeoutMs,
    });
    await api.call("apps.connections.open", "app", undefined, { timeoutMs });
    const user = typeof who.user === "string" ? `@${who.user}` : "the bot";
    return { status: "valid", identity: typeof who.team === "string" ? `${user} in ${who.team}` : user };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof PlatformError && error.kind === "auth") return { status: "rejected", message };
    return { status: "unreachable", message };
  }
};
