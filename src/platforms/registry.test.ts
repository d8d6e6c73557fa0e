import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { blockSchema } from "./manifest.ts";
import { PLATFORMS, platformByName } from "./registry.ts";

/** SPEC §3: platform, transport, credentials (key: conventional variable). */
const SPEC_TABLE: Record<string, Record<string, string>> = {
  telegram: { token: "TELEGRAM_BOT_TOKEN" },
  discord: { token: "DISCORD_BOT_TOKEN" },
  slack: { bot_token: "SLACK_BOT_TOKEN", app_token: "SLACK_APP_TOKEN" },
  feishu: { app_id: "FEISHU_APP_ID", app_secret: "FEISHU_APP_SECRET" },
  qqbot: { app_id: "QQ_APP_ID", client_secret: "QQ_CLIENT_SECRET" },
  dingtalk: { client_id: "DINGTALK_CLIENT_ID", client_secret: "DINGTALK_CLIENT_SECRET" },
  matrix: { homeserver: "MATRIX_HOMESERVER", access_token: "MATRIX_ACCESS_TOKEN" },
  weixin: { token: "WEIXIN_TOKEN", account_id: "WEIXIN_ACCOUNT_ID" },
  webhook: { secret: "WEBHOOK_SECRET" },
};

describe("platform registry", () => {
  it("has exactly the platforms of the spec, each with its credentials and variables", () => {
    expect(PLATFORMS.map((p) => p.name).sort()).toEqual(Object.keys(SPEC_TABLE).sort());
    for (const p of PLATFORMS) {
      expect(Object.fromEntries(p.credentials.map((c) => [c.key, c.env]))).toEqual(SPEC_TABLE[p.name]);
    }
  });

  it("declares limits the runtime relies on", () => {
    for (const p of PLATFORMS) {
      expect(p.messageLimit).toBeGreaterThan(0);
      expect(p.livenessMs === null || (p.livenessMs >= 10_000 && p.livenessMs <= 300_000)).toBe(true);
      expect(p.transport.modes.length).toBeGreaterThan(0);
    }
    expect(platformByName("telegram")).toMatchObject({ messageLimit: 4096, livenessMs: 60_000 });
    expect(platformByName("discord")?.messageLimit).toBe(2000);
    // The inbound-only webhook platform is not watched for progress.
    expect(platformByName("webhook")?.livenessMs).toBeNull();
  });

  it("every secret credential is marked secret in the block schema", () => {
    for (const p of PLATFORMS) {
      const schema = blockSchema(p) as unknown as {
        entries: Record<
          string,
          { wrapped: { pipe?: { type: string; metadata?: { secret?: boolean; env?: string } }[] } }
        >;
      };
      for (const c of p.credentials) {
        const meta = schema.entries[c.key]?.wrapped.pipe?.find((x) => x.type === "metadata")?.metadata;
        expect(meta).toMatchObject({ env: c.env, ...(c.secret ? { secret: true } : {}) });
      }
    }
  });

  it("distinctive shapes never claim another platform's well-formed token", () => {
    const samples: Record<string, string> = {
      "telegram.token": "7312846519:AAHk3vQz8mN2pL5xR9tY1wE4uI7oP0aS6dF",
      "discord.token": "MTAzNTU3Mzg5NDcxOTEyNzU1Mg.GhT4xQ.k9VbN2mX8zR5tY1wE4uI7oP0aS6dFgHjKlZxCv",
      "slack.bot_token": "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
      "slack.app_token": "xapp-1-A0123456789-1234567890123-0123456789abcdef",
      "feishu.app_id": "cli_a1b2c3d4e5f6a7b8",
      "dingtalk.client_id": "dingq3x8zv2mlkwp5rta",
    };
    for (const [owner, value] of Object.entries(samples)) {
      const claimedBy = PLATFORMS.flatMap((p) =>
        p.credentials.filter((c) => c.distinctive?.(value)).map((c) => `${p.name}.${c.key}`),
      );
      expect(claimedBy).toEqual([owner]);
      const [name, key] = owner.split(".");
      expect(
        platformByName(name!)
          ?.credentials.find((c) => c.key === key)
          ?.shape?.test(value),
      ).toBe(true);
    }
  });

  it("block schemas accept a full block", () => {
    const result = v.safeParse(blockSchema(platformByName("telegram")!), {
      enabled: true,
      token: "x",
      allowed_users: [1, "2"],
      admins: "1,2",
      home_channel: -100123,
      allowed_chats: [],
      require_mention: true,
      api_base: "http://127.0.0.1:8081",
      mode: "webhook",
      listen: "0.0.0.0:8443",
      webhook_url: "https://bot.example.org/telegram",
      poll_timeout: "25s",
    });
    expect(result.issues).toBeUndefined();
    expect(result.output).toMatchObject({
      allowed_users: ["1", "2"],
      admins: ["1", "2"],
      home_channel: "-100123",
      poll_timeout: 25_000,
    });
  });
});
