/**
 * `hermes send` and `hermes outbox`: through the running gateway's control socket; when no gateway runs, `send`
 * goes straight to the platform's API and `outbox` works on the journal itself (holding the gateway's lock, so
 * a gateway cannot start underneath it).
 */
import { randomUUID } from "node:crypto";
import { appendFileSync, closeSync, fsyncSync, openSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../config/load.ts";
import { controlRequest, socketFor } from "../../gateway/control.ts";
import { readJournal } from "../../journal/journal.ts";
import { silentLogger } from "../../log/logger.ts";
import { type OutboxRecord, replayOutbox } from "../../outbox/outbox.ts";
import { adapterLoader } from "../../platforms/registry.ts";
import { command, group } from "../define.ts";
import { resolveHome } from "../globals.ts";
import { err, out } from "../output.ts";

/** Asks the running gateway; undefined when none answers. */
async function ask(home: string, method: "GET" | "POST", path: string, body?: unknown) {
  try {
    return await controlRequest(socketFor(home), method, path, 10_000, body);
  } catch {
    return undefined;
  }
}

export const send = command({
  name: "send",
  description: "Send one message through the running gateway, or directly when none runs",
  args: {
    target: { type: "positional", description: "platform (its home channel) or platform:chat_id" },
    text: { type: "positional", description: "the message" },
  },
  async run(args) {
    const home = resolveHome(args.home as string | undefined);
    const target = String(args.target);
    const text = String(args.text);
    const answer = await ask(home, "POST", "/v1/send", { target, text });
    if (answer) {
      const body = answer.body as { id?: string; error?: string };
      if (answer.status === 202) {
        out(`accepted: ${body.id} (queued by the running gateway)\n`);
        return 0;
      }
      err(`The gateway refused the message: ${body.error ?? `HTTP ${answer.status}`}.`);
      return 1;
    }
    return sendDirectly(home, target, text);
  },
});

async function sendDirectly(home: string, target: string, text: string): Promise<number> {
  const load = loadConfig({ home, env: process.env });
  const colon = target.indexOf(":");
  const name = colon < 0 ? target : target.slice(0, colon);
  const platform = load.platforms.find((p) => p.manifest.name === name);
  if (!platform) {
    err(`No platform named "${name}".`);
    return 1;
  }
  if (!platform.enabled) {
    err(`Platform ${name} is not enabled in ${load.configFile.path}.`);
    return 1;
  }
  const chatId = colon < 0 ? platform.homeChannel.value : target.slice(colon + 1);
  if (!chatId) {
    err(`Target "${target}" names no chat and ${name} has no home_channel.`);
    return 1;
  }
  const loader = adapterLoader(name);
  if (!loader) {
    err(
      `No gateway is running, and this version of hermes has no ${platform.manifest.title} adapter to send with.`,
    );
    return 1;
  }
  const credentials: Record<string, string> = {};
  for (const c of platform.credentials) if (c.value !== undefined) credentials[c.spec.key] = c.value;
  const missing = platform.credentials.find((c) => c.value === undefined);
  if (missing) {
    err(`Cannot send through ${name}: ${missing.spec.env} is not set.`);
    return 1;
  }
  const adapter = (await loader())({
    manifest: platform.manifest,
    block: platform.block ?? { require_mention: false },
    credentials,
    signal: new AbortController().signal,
    log: silentLogger,
    progress() {},
    connected() {},
    count() {},
    receive: async () => ({ status: "unavailable" }),
  });
  const id = randomUUID();
  try {
    await adapter.send({ id, platform: name, chatId, text, inReplyTo: null });
  } catch (error) {
    err(`Sending through ${name} failed: ${error instanceof Error ? error.message : String(error)}.`);
    return 1;
  }
  out(`sent: ${id} (directly to ${name}:${chatId}; no gateway is running)\n`);
  return 0;
}

const flags = {
  dead: { type: "boolean", description: "dead letters instead of undelivered messages" },
  json: { type: "boolean", description: "print JSON" },
} as const;

interface Listed {
  id: string;
  target: string;
  text: string;
  accepted_at: string;
  attempts: number;
  reason: string | null;
}

const list = command({
  name: "outbox list",
  description: "List undelivered (or, with --dead, dead) messages",
  args: flags,
  async run(args) {
    const home = resolveHome(args.home as string | undefined);
    const state = args.dead ? "dead" : "pending";
    const answer = await ask(home, "GET", `/admin/outbox?state=${state}`);
    const messages = answer ? ((answer.body as { messages: Listed[] }).messages ?? []) : offline(home, state);
    if (args.json) out(`${JSON.stringify({ state, messages }, null, 2)}\n`);
    else if (messages.length === 0) out(`no ${state === "dead" ? "dead letters" : "undelivered messages"}\n`);
    else {
      for (const m of messages) {
        const preview = m.text.length > 60 ? `${m.text.slice(0, 57)}…` : m.text;
        out(
          `${m.id}  ${m.target}  ${m.accepted_at}${m.reason ? `  (${m.reason})` : ""}\n    ${JSON.stringify(preview)}\n`,
        );
      }
    }
    return 0;
  },
});

function offline(home: string, state: "pending" | "dead"): Listed[] {
  const { entries } = replayOutbox(readJournal<OutboxRecord>(join(home, "outbox", "journal.log")).records);
  return [...entries.values()]
    .filter((e) => e.state === state)
    .map((e) => ({
      id: e.message.id,
      target: `${e.message.platform}:${e.message.chatId}`,
      text: e.message.text,
      accepted_at: new Date(e.acceptedAt).toISOString(),
      attempts: 0,
      reason: e.reason,
    }));
}

/** Appends records to the outbox journal while no gateway runs (the gateway's lock is held meanwhile). */
async function offlineAppend(
  home: string,
  make: (ids: string[]) => OutboxRecord[],
  state: "pending" | "dead",
  ids?: string[],
): Promise<string[] | undefined> {
  const { acquireLock } = await import("../../gateway/lock.ts");
  const { loadRuntime } = await import("../../runtime/index.ts");
  const lock = await acquireLock(join(home, "run"), await loadRuntime());
  if (!lock.ok) return undefined;
  try {
    const chosen = offline(home, state)
      .map((m) => m.id)
      .filter((id) => !ids || ids.includes(id));
    const path = join(home, "outbox", "journal.log");
    appendFileSync(
      path,
      make(chosen)
        .map((r) => `${JSON.stringify(r)}\n`)
        .join(""),
      { mode: 0o600 },
    );
    const fd = openSync(path, "r");
    fsyncSync(fd);
    closeSync(fd);
    return chosen;
  } finally {
    lock.release();
  }
}

const ids = {
  ids: { type: "positional", required: false, description: "message ids (default: all)" },
} as const;

function idsOf(args: { _: string[] }): string[] | undefined {
  return args._.length > 0 ? args._ : undefined;
}

const retry = command({
  name: "outbox retry",
  description: "Try undelivered messages again now; with --dead, make dead letters pending again",
  args: { ...ids, ...flags },
  async run(args) {
    const home = resolveHome(args.home as string | undefined);
    const state = args.dead ? "dead" : "pending";
    const answer = await ask(home, "POST", `/admin/outbox/retry?state=${state}`, { ids: idsOf(args) });
    let done = answer ? (answer.body as { ids: string[] }).ids : undefined;
    if (!answer) {
      if (state === "pending") {
        out("no gateway is running: undelivered messages go out when it starts\n");
        return 0;
      }
      done = await offlineAppend(
        home,
        (chosen) => chosen.map((id) => ({ t: "retry", id, at: Date.now() })),
        "dead",
        idsOf(args),
      );
      if (!done) {
        err("A gateway holds the lock but does not answer on its control socket; try again.");
        return 1;
      }
    }
    out(
      `${state === "dead" ? "retrying" : "trying again"}: ${done!.length} message${done!.length === 1 ? "" : "s"}\n`,
    );
    return 0;
  },
});

const purge = command({
  name: "outbox purge",
  description: "Drop undelivered (or, with --dead, dead) messages",
  args: { ...ids, ...flags },
  async run(args) {
    const home = resolveHome(args.home as string | undefined);
    const state = args.dead ? "dead" : "pending";
    const answer = await ask(home, "POST", `/admin/outbox/purge?state=${state}`, { ids: idsOf(args) });
    const done = answer
      ? (answer.body as { ids: string[] }).ids
      : await offlineAppend(home, (chosen) => chosen.map((id) => ({ t: "purge", id })), state, idsOf(args));
    if (!done) {
      err("A gateway holds the lock but does not answer on its control socket; try again.");
      return 1;
    }
    out(`purged: ${done.length} message${done.length === 1 ? "" : "s"}\n`);
    return 0;
  },
});

export const outbox = group("outbox", "Inspect and act on undelivered and dead messages", {
  list,
  retry,
  purge,
});
