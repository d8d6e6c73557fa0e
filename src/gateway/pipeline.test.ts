import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Agent } from "../agent/agent.ts";
import { loadConfig } from "../config/load.ts";
import { silentLogger } from "../log/logger.ts";
import { Outbox } from "../outbox/outbox.ts";
import { splitText } from "../outbox/split.ts";
import type { Adapter, InboundMessage, OutboundMessage } from "../platforms/adapter.ts";
import { Metrics } from "./metrics.ts";
import { type AdminCommand, Pipeline, parseCommand } from "./pipeline.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const TOKEN = "123456789:AAFakeTokenForPipelineTests_abcdefghij";

/** A pipeline over real journals in a temporary home, the platforms of `config`, and a recording adapter. */
async function setup(config: string, agent: Agent, home?: string) {
  if (!home) {
    home = mkdtempSync(join(tmpdir(), "hermes-pipeline-"));
    dirs.push(home);
    writeFileSync(join(home, "config.yaml"), config);
  }
  const load = loadConfig({ home, env: { TELEGRAM_BOT_TOKEN: TOKEN, WEBHOOK_SECRET: "s".repeat(32) } });
  const sent: OutboundMessage[] = [];
  const adapter: Adapter = {
    run: () => new Promise(() => {}),
    async send(message) {
      sent.push(message);
    },
  };
  const metrics = new Metrics();
  const outbox = await Outbox.open(join(home, "outbox", "journal.log"), {
    ttlMs: 60_000,
    adapterFor: () => adapter,
    log: silentLogger,
    metrics,
  });
  const commands: AdminCommand[] = [];
  const pipeline = await Pipeline.open(join(home, "state", "inbound.journal"), {
    agent,
    outbox,
    log: silentLogger,
    metrics,
    platform: (name) => load.platforms.find((p) => p.manifest.name === name),
    async command(name) {
      commands.push(name);
      return { reply: `ran ${name}` };
    },
  });
  const stop = async () => {
    await pipeline.stop();
    await outbox.stop();
  };
  return { home, pipeline, outbox, sent, commands, stop };
}

const echo: Agent = { name: "echo", reply: async (m) => m.text };

let counter = 0;
function message(over: Partial<InboundMessage> = {}): InboundMessage {
  return {
    platform: "telegram",
    chatId: "chat-1",
    userId: "u1",
    messageId: `m${++counter}`,
    text: "hello",
    at: new Date(),
    ...over,
  };
}

/** Waits, bounded, for a condition (what names it in the failure). */
function until(what: string, check: () => boolean, timeout = 5000): Promise<boolean> {
  return vi.waitUntil(check, { timeout, interval: 5 }).catch(() => {
    throw new Error(`timed out waiting for ${what}`);
  });
}

describe("Pipeline", () => {
  it("drops a platform message id it has seen, also after a restart", async () => {
    const config = "platforms:\n  telegram: { allow_all: true }\n  webhook: { allow_all: true }\n";
    const first = await setup(config, echo);
    const m = message();
    expect((await first.pipeline.receive(m)).status).toBe("accepted");
    expect(await first.pipeline.receive(m)).toEqual({ status: "duplicate" });
    await until("reply", () => first.sent.length === 1);
    await first.stop();

    const second = await setup(config, echo, first.home);
    expect(await second.pipeline.receive({ ...m, text: "again" })).toEqual({ status: "duplicate" });
    // The same id on another platform is another message.
    expect((await second.pipeline.receive({ ...m, platform: "webhook" })).status).toBe("accepted");
    await second.stop();
  });

  it("applies allowed_users, allowed_chats and require_mention", async () => {
    const { pipeline, sent, stop } = await setup(
      "platforms:\n  telegram:\n    allowed_users: [u1]\n    allowed_chats: [group-ok]\n    require_mention: true\n",
      echo,
    );
    expect(await pipeline.receive(message({ userId: "stranger" }))).toEqual({ status: "forbidden" });
    expect(await pipeline.receive(message({ group: true, chatId: "group-other", mentioned: true }))).toEqual({
      status: "ignored",
    });
    expect(await pipeline.receive(message({ group: true, chatId: "group-ok" }))).toEqual({
      status: "ignored",
    });
    expect(
      (await pipeline.receive(message({ group: true, chatId: "group-ok", mentioned: true }))).status,
    ).toBe("accepted");
    // A private chat needs neither a listed chat nor a mention.
    expect((await pipeline.receive(message({ chatId: "private" }))).status).toBe("accepted");
    await until("replies", () => sent.length === 2);
    expect(sent.map((s) => s.chatId).sort()).toEqual(["group-ok", "private"]);
    await stop();
  });

  it("calls the agent once per chat at a time, in arrival order, and chats in parallel", async () => {
    const active = new Map<string, number>();
    let overlapInChat = false;
    let chatsAtOnce = 0;
    const order: string[] = [];
    const slow: Agent = {
      name: "slow",
      async reply(m) {
        const n = (active.get(m.chatId) ?? 0) + 1;
        active.set(m.chatId, n);
        if (n > 1) overlapInChat = true;
        chatsAtOnce = Math.max(chatsAtOnce, [...active.values()].filter((v) => v > 0).length);
        order.push(`${m.chatId}:${m.text}`);
        await new Promise((r) => setTimeout(r, 3));
        active.set(m.chatId, n - 1);
        return m.text;
      },
    };
    const { pipeline, sent, stop } = await setup("platforms:\n  telegram: { allow_all: true }\n", slow);
    const accepted = [];
    for (let i = 0; i < 10; i++)
      for (const chat of ["a", "b", "c"])
        accepted.push(pipeline.receive(message({ chatId: chat, text: `${i}` })));
    await Promise.all(accepted);
    await until("replies", () => sent.length === 30);
    expect(overlapInChat).toBe(false);
    expect(chatsAtOnce).toBeGreaterThan(1);
    for (const chat of ["a", "b", "c"]) {
      const expected = Array.from({ length: 10 }, (_, i) => `${i}`);
      expect(order.filter((o) => o.startsWith(`${chat}:`)).map((o) => o.slice(2))).toEqual(expected);
      expect(sent.filter((s) => s.chatId === chat).map((s) => s.text)).toEqual(expected);
    }
    await stop();
  });

  it("splits a long reply to the platform's limit, with ids derived from the message", async () => {
    const text = `${"word ".repeat(1000)}\n\n${"x".repeat(3000)}`;
    const long: Agent = { name: "long", reply: async () => text };
    const { pipeline, sent, stop } = await setup("platforms:\n  telegram: { allow_all: true }\n", long);
    const result = await pipeline.receive(message());
    const parts = splitText(text, 4096);
    expect(parts.length).toBeGreaterThan(1);
    await until("reply", () => sent.length === parts.length);
    expect(sent.map((s) => s.text)).toEqual(parts);
    expect(sent.map((s) => s.id)).toEqual(parts.map((_, i) => `${(result as { id: string }).id}.${i}`));
    await stop();
  });

  it("processes again after a restart a message accepted but not answered, and answers it once", async () => {
    const never: Agent = {
      name: "never",
      reply: (_m, signal) =>
        new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
    };
    const config = "platforms:\n  telegram: { allow_all: true }\n";
    const first = await setup(config, never);
    const m = message({ text: "are you there?" });
    expect((await first.pipeline.receive(m)).status).toBe("accepted");
    await first.stop();
    expect(first.sent).toEqual([]);

    const second = await setup(config, echo, first.home);
    await until("reply", () => second.sent.length === 1);
    expect(second.sent[0]?.text).toBe("are you there?");
    await second.stop();
    const third = await setup(config, echo, first.home);
    await new Promise((r) => setTimeout(r, 30));
    expect(third.sent).toEqual([]);
    await third.stop();
  });

  it("admin commands go to the gateway, not the agent; others get a polite refusal", async () => {
    let agentCalls = 0;
    const counting: Agent = { name: "counting", reply: async () => `${++agentCalls}` };
    const { pipeline, sent, commands, stop } = await setup(
      "platforms:\n  telegram: { allow_all: true, admins: [boss] }\n",
      counting,
    );
    await pipeline.receive(message({ userId: "boss", text: "/status@hermes_bot" }));
    await pipeline.receive(message({ userId: "u1", text: "/restart" }));
    await until("replies", () => sent.length === 2);
    expect(commands).toEqual(["status"]);
    expect(sent.map((s) => s.text)).toEqual(["ran status", "Sorry, /restart is for admins only."]);
    expect(agentCalls).toBe(0);
    await stop();
  });
});

describe("parseCommand", () => {
  it("knows the admin commands, with a bot suffix or arguments, and nothing else", () => {
    expect(parseCommand("/status")).toBe("status");
    expect(parseCommand("  /Restart now")).toBe("restart");
    expect(parseCommand("/cron@my_bot")).toBe("cron");
    expect(parseCommand("/statusx")).toBeUndefined();
    expect(parseCommand("please /restart")).toBeUndefined();
    expect(parseCommand("/start")).toBeUndefined();
  });
});
