/**
 * Every platform hermes knows: its manifest and, once built, its adapter. Static imports, so that
 * `bun build --compile` bundles them; adapters load on first use. Adding a platform: a folder with a manifest
 * (and an adapter), and one line here. Tests register their own test platforms with `registerPlatform`
 * before the configuration schema is first loaded.
 */
import type { AdapterFactory } from "./adapter.ts";
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

type AdapterLoader = () => Promise<AdapterFactory>;

const platforms: PlatformManifest[] = [
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

const adapters = new Map<string, AdapterLoader>([
  ["telegram", () => import("./telegram/adapter.ts").then((m) => (ctx) => m.createTelegramAdapter(ctx))],
  ["slack", () => import("./slack/adapter.ts").then((m) => (ctx) => m.createSlackAdapter(ctx))],
  ["webhook", () => import("./webhook/adapter.ts").then((m) => m.createWebhookAdapter)],
  ["discord", () => import("./discord/adapter.ts").then((m) => (ctx) => m.createDiscordAdapter(ctx))],
]);

export const PLATFORMS: readonly PlatformManifest[] = platforms;
export const PLATFORM_NAMES: readonly string[] = platforms.map((p) => p.name);

export function platformByName(name: string): PlatformManifest | undefined {
  return platforms.find((p) => p.name === name);
}

/** The platform has an adapter in this build; otherwise it runs as `disabled` (not-implemented). */
export function hasAdapter(name: string): boolean {
  return adapters.has(name);
}

export function adapterLoader(name: string): AdapterLoader | undefined {
  return adapters.get(name);
}

/** Adds a platform (tests use it for their test platforms); must run before the config schema loads. */
export function registerPlatform(manifest: PlatformManifest, load: AdapterLoader): void {
  const index = platforms.findIndex((p) => p.name === manifest.name);
  if (index >= 0) platforms[index] = manifest;
  else {
    platforms.push(manifest);
    (PLATFORM_NAMES as string[]).push(manifest.name);
  }
  adapters.set(manifest.name, load);
}
