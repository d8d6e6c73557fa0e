/** Checks of which platforms run and who may use them, and of the agent behind them. */
import { hasAdapter } from "../../platforms/registry.ts";
import { at, defineRule, type Finding, hasUnsetReference, platformLocation } from "../rule.ts";

export const notImplemented = defineRule({
  id: "not-implemented",
  check(ctx) {
    return ctx.load.platforms
      .filter((p) => p.enabled && !hasAdapter(p.manifest.name))
      .map((p) =>
        at(
          platformLocation(ctx, p),
          `platform "${p.manifest.name}" is enabled, but this version of hermes has no ${p.manifest.title} adapter yet: it will run as disabled (not-implemented)`,
          {
            hint: "the rest of the gateway runs; the platform starts working once its adapter ships",
            platform: p.manifest.name,
          },
        ),
      );
  },
});

/**
 * A platform that registers its own webhook (its manifest takes `webhook_url`, as Telegram's setWebhook needs)
 * cannot run in webhook mode without that URL: a required key left out, so `type-mismatch`.
 */
export const webhookUrlMissing = defineRule({
  id: "type-mismatch",
  check(ctx) {
    return ctx.load.platforms
      .filter(
        (p) =>
          p.enabled &&
          "webhook_url" in p.manifest.options &&
          p.block?.mode === "webhook" &&
          !p.block.webhook_url &&
          !hasUnsetReference(ctx, ["platforms", p.manifest.name, "webhook_url"]),
      )
      .map((p) => {
        const name = p.manifest.name;
        return at(
          ctx.load.locate(["platforms", name, "mode"], "value"),
          `platforms.${name}.mode is webhook, but platforms.${name}.webhook_url (the public URL the platform POSTs to) is not set`,
          {
            hint: `add webhook_url: https://<your host>/webhooks/${name}, or remove mode to receive by ${p.manifest.transport.modes[0]}`,
            platform: name,
          },
        );
      });
  },
});

export const allowlistEmpty = defineRule({
  id: "allowlist-empty",
  check(ctx) {
    return ctx.load.platforms
      .filter((p) => p.enabled && p.allowedUsers.value.length === 0 && !p.allowAll.value)
      .map((p) => {
        const name = p.manifest.name;
        return at(
          platformLocation(ctx, p),
          `platform "${name}" is enabled but nobody may use it: allowed_users is empty`,
          {
            hint: `list user ids in platforms.${name}.allowed_users (or ${p.manifest.envPrefix}_ALLOWED_USERS), or set allow_all: true`,
            platform: name,
          },
        );
      });
  },
});

export const agentEcho = defineRule({
  id: "agent-echo",
  check(ctx) {
    if (ctx.load.config.agent.kind !== "echo") return [];
    const chats = ctx.load.platforms.filter((p) => p.enabled && p.manifest.chat).map((p) => p.manifest.name);
    if (chats.length === 0) return [];
    const where = ctx.load.has(["agent", "kind"])
      ? ctx.load.locate(["agent", "kind"], "value")
      : ctx.load.has(["agent"])
        ? ctx.load.locate(["agent"], "key")
        : {
            file: ctx.load.configFile.exists ? ctx.load.configFile.path : null,
            path: "agent.kind",
            line: null,
            column: null,
          };
    return [
      at(
        where,
        `chat platforms are enabled (${chats.join(", ")}) but the agent is the echo agent: people get their own words back`,
        {
          hint: "set agent.kind to command, http or openai, with its settings",
        },
      ),
    ];
  },
});

export const agentConfig = defineRule({
  id: "agent-config",
  check(ctx) {
    const { agent } = ctx.load.config;
    const findings: Finding[] = [];
    const where = ctx.load.locate(["agent", "kind"], "value");
    if (agent.kind === "command") {
      const c = agent.command;
      const hasArgv = (c?.argv?.length ?? 0) > 0;
      const hasShell = c?.shell !== undefined && c.shell.trim() !== "";
      if (hasArgv === hasShell) {
        findings.push(
          at(
            hasArgv ? ctx.load.locate(["agent", "command"], "key") : where,
            hasArgv
              ? "agent.command has both argv and shell; give one of them"
              : "agent.kind is command but agent.command has neither argv nor shell",
            { hint: 'agent: { kind: command, command: { argv: ["/usr/local/bin/my-agent"] } }' },
          ),
        );
      }
    } else if (
      agent.kind === "http" &&
      !agent.http?.url &&
      !hasUnsetReference(ctx, ["agent", "http", "url"])
    ) {
      findings.push(
        at(where, "agent.kind is http but agent.http.url is not set", {
          hint: "agent: { kind: http, http: { url: http://127.0.0.1:9000/reply } }",
        }),
      );
    } else if (
      agent.kind === "openai" &&
      !agent.openai?.model &&
      !hasUnsetReference(ctx, ["agent", "openai", "model"])
    ) {
      findings.push(
        at(where, "agent.kind is openai but agent.openai.model is not set", {
          hint: "agent: { kind: openai, openai: { model: gpt-4o-mini } }",
        }),
      );
    }
    return findings;
  },
});
