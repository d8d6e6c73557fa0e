/**
 * Every platform hermes knows, in a static list so that `bun build --compile` bundles them.
 * Adding a platform: a folder with a manifest, and one line here.
 */
import dingtalk from "./dingtalk/manifest.ts";
import discord from "./discord/manifest.ts";
import feishu from "./feishu/manifest.ts";
import type { PlatformManifest } from "./manifest.ts";
import matrix from "./matrix/manifest.ts";
import qqbot from "./qqbot/manifest.ts";
import slack from "./slack/manifest.ts";
import telegram from "./telegram/manifest.ts";
import webhook from "./webhook/manifest.ts";
import weixin from "./weixin/manifest.ts";

export const PLATFORMS: readonly PlatformManifest[] = [
  telegram,
  discord,
  slack,
  feishu,
  qqbot,
  dingtalk,
  matrix,
  weixin,
  webhook,
];

const BY_NAME = new Map(PLATFORMS.map((p) => [p.name, p]));

export function platformByName(name: string): PlatformManifest | undefined {
  return BY_NAME.get(name);
}

export const PLATFORM_NAMES: readonly string[] = PLATFORMS.map((p) => p.name);
