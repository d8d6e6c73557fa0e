/**
 * All four platforms at once in the compiled binary (Bun): Telegram, Discord and Slack against their test servers
 * (through the same drivers as the conformance suite) and the webhook platform against a receiver.
 *  - a message on each reaches the echo agent, and the reply arrives on the same platform, nowhere else;
 *  - the restart-loop seed: Discord refuses the token (close 4004) or the privileged intent (4014): Discord is
 *    `failed` with the reason in plain words, Telegram, Slack and the webhook keep working, the process never
 *    exits, and no token appears in anything it printed or wrote.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import discordManifest from "../../src/platforms/discord/manifest.ts";
import slackManifest from "../../src/platforms/slack/manifest.ts";
import telegramManifest from "../../src/platforms/telegram/manifest.ts";
import { hermesAsync } from "../helpers/cli.ts";
import {
  freePort,
  type GatewayProcess,
  startGateway,
  status,
  waitFor,
  waitReady,
} from "../helpers/gateway.ts";
import { makeHome } from "../helpers/home.ts";
import { postMessage, receiver, SECRET } from "../helpers/receiver.ts";
import type { PlatformServerDriver } from "../kit/conformance.ts";
import { TOKEN as DISCORD_TOKEN, discordDriver } from "../kit/discord-driver.ts";
import { DiscordTestServer } from "../kit/discord-server.ts";
import { TOKENS as SLACK_TOKENS, slackDriver } from "../kit/slack-driver.ts";
import { SlackTestServer } from "../kit/slack-server.ts";
import { TOKEN as TELEGRAM_TOKEN, telegramDriver } from "../kit/telegram-driver.ts";
import { TelegramTestServer } from "../kit/telegram-server.ts";

const MANIFESTS = { telegram: telegramManifest, discord: discordManifest, slack: slackManifest };
type Chat = keyof typeof MANIFESTS;
const CHATS = Object.keys(MANIFESTS) as Chat[];

let drivers: Partial<Record<Chat, PlatformServerDriver>> = {};
let discordServer: DiscordTestServer | undefined;
afterEach(async () => {
  await Promise.all(Object.values(drivers).map((d) => d.close()));
  drivers = {};
  discordServer = undefined;
});

/** Starts the three test servers; a home whose config.yaml and .env name all four platforms. */
async function fourPlatformHome() {
  discordServer = await DiscordTestServer.start(DISCORD_TOKEN, { heartbeatIntervalMs: 1000 });
  drivers = {
    telegram: telegramDriver(await TelegramTestServer.start(TELEGRAM_TOKEN)),
    discord: discordDriver(discordServer),
    slack: slackDriver(await SlackTestServer.start(SLACK_TOKENS)),
  };
  const reply = await receiver();
  const port = await freePort();
  let platforms = `  webhook: { allowed_users: [u1], reply_url: "${reply.url}" }\n`;
  let env = `WEBHOOK_SECRET=${SECRET}\n`;
  const secrets = [SECRET];
  for (const name of CHATS) {
    const driver = drivers[name]!;
    platforms += `  ${name}: { allow_all: true, api_base: "${driver.block.api_base}"${name === "telegram" ? ", poll_timeout: 1s" : ""} }\n`;
    // Credentials go where a user puts them: .env, under the manifest's variable names.
    for (const credential of MANIFESTS[name].credentials) {
      const value = driver.credentials[credential.key];
      if (value === undefined) continue;
      env += `${credential.env}=${value}\n`;
      secrets.push(value);
    }
  }
  const home = makeHome({
    config: `gateway:
  http: { listen: "127.0.0.1:${port}" }
  reconnect: { initial: 50ms, max: 500ms }
platforms:
${platforms}`,
    env,
  });
  return { home, port, reply, secrets };
}

/** The same, with the gateway running on it. */
async function fourPlatforms() {
  const setup = await fourPlatformHome();
  const gw = startGateway({ home: setup.home });
  await waitReady(gw);
  return { gw, ...setup };
}

/** Everything the process said or wrote: log records, stderr, status, the state and log files. */
async function everything(gw: GatewayProcess, home: string): Promise<string> {
  const parts = [
    JSON.stringify(gw.logs),
    gw.stderr.join(""),
    JSON.stringify(await status(gw).catch(() => "")),
  ];
  for (const dir of ["logs", "state"])
    for (const f of readdirSync(join(home, dir), { recursive: true, withFileTypes: true }))
      if (f.isFile()) parts.push(readFileSync(join(f.parentPath, f.name), "latin1"));
  return parts.join("\n");
}

const chatReplies = (name: Chat, text: string) => drivers[name]!.sent().filter((s) => s.text === text);

describe("all four platforms in one gateway", () => {
  it("a message on each reaches the echo agent and the reply arrives on the same platform only", async () => {
    const { gw, home, port, reply, secrets } = await fourPlatforms();
    // running: every enabled platform is connected.
    await waitFor("all four connected", async () => (await status(gw)).state === "running", 20_000);
    for (const name of CHATS) drivers[name]!.userSays(`hello from ${name}`);
    const res = await postMessage(port, {
      chat_id: "c1",
      user_id: "u1",
      text: "hello from webhook",
      message_id: "w1",
    });
    expect(res.status).toBe(202);

    for (const name of CHATS)
      await waitFor(`the echo on ${name}`, () => chatReplies(name, `hello from ${name}`).length > 0, 15_000);
    await waitFor("the echo on the webhook", () =>
      reply.delivered().some((d) => d.body.text === "hello from webhook"),
    );
    // Each reply once, and only on its own platform.
    for (const name of CHATS)
      for (const other of [...CHATS, "webhook"]) {
        const own = chatReplies(name, `hello from ${other}`).length;
        expect(own, `${name} got the reply to ${other}`).toBe(other === name ? 1 : 0);
      }
    expect(reply.delivered().map((d) => d.body.text)).toEqual(["hello from webhook"]);

    const said = await everything(gw, home);
    for (const secret of secrets) expect(said).not.toContain(secret);
    expect(gw.exit).toBeUndefined();
  }, 60_000);

  // Mid-session, as it happens to a running bot: the token is reset (the session drops and its Resume is refused),
  // or the intent is withdrawn (the session is invalidated and the new Identify is refused).
  it.each([
    ["the token (4004)", () => drivers.discord!.revokeToken(), /close 4004/],
    [
      "the privileged intent (4014)",
      () => {
        discordServer!.allowedPrivileged = 0;
        discordServer!.invalidateSession(false);
      },
      /privileged intent MESSAGE_CONTENT not enabled for this bot/,
    ],
  ] as const)(
    "the restart-loop seed: Discord refuses %s; it is failed with its reason, the other three keep working, no exit",
    async (_what, refuse, reason) => {
      const { gw, home, port, reply, secrets } = await fourPlatforms();
      const pid = gw.pid;
      await waitFor("all four connected", async () => (await status(gw)).state === "running", 20_000);
      refuse();
      await waitFor(
        "discord failed",
        async () => (await status(gw)).platforms.discord?.state === "failed",
        20_000,
      );
      const s = await status(gw);
      expect(s.platforms.discord?.reason ?? "").toMatch(reason);
      expect(s.state).toBe("degraded");

      for (const name of ["telegram", "slack"] as const) drivers[name]!.userSays(`still here, ${name}?`);
      const res = await postMessage(port, {
        chat_id: "c1",
        user_id: "u1",
        text: "still here, webhook?",
        message_id: "w2",
      });
      expect(res.status).toBe(202);
      for (const name of ["telegram", "slack"] as const)
        await waitFor(
          `the echo on ${name}`,
          () => chatReplies(name, `still here, ${name}?`).length === 1,
          15_000,
        );
      await waitFor("the webhook echo", () =>
        reply.delivered().some((d) => d.body.text === "still here, webhook?"),
      );
      expect(drivers.discord!.sent()).toEqual([]);

      // Failed stays failed (a refused token is not retried in a loop), and the process is the same one.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect((await status(gw)).platforms.discord?.state).toBe("failed");
      expect(gw.exit).toBeUndefined();
      expect((await status(gw)).pid).toBe(pid);
      const said = await everything(gw, home);
      for (const secret of secrets) expect(said).not.toContain(secret);
    },
    60_000,
  );

  it("lint config --online asks each platform: all accept; a revoked Discord token is token-rejected, named by its variable (exit 1)", async () => {
    const { home, secrets } = await fourPlatformHome();
    const ok = await hermesAsync(["lint", "config", "--online", "--home", home]);
    expect(ok.code, ok.stderr).toBe(0);
    for (const name of CHATS)
      expect(ok.stderr).toMatch(new RegExp(`online: ${name} accepted its credentials`));
    drivers.discord!.revokeToken();
    const refused = await hermesAsync(["lint", "config", "--online", "--format", "json", "--home", home]);
    expect(refused.code).toBe(1);
    const findings = JSON.parse(refused.stdout).diagnostics as { rule: string; path: string }[];
    expect(findings.filter((d) => d.rule === "token-rejected").map((d) => d.path)).toEqual([
      "DISCORD_BOT_TOKEN",
    ]);
    for (const secret of secrets)
      expect(`${ok.stdout}${ok.stderr}${refused.stdout}${refused.stderr}`).not.toContain(secret);
  }, 30_000);
});
