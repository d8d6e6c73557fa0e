/**
 * No accepted message is lost or answered twice: messages flow in and out of the compiled binary while it is
 * killed with SIGKILL again and again. Every acknowledged message gets its reply exactly once (receivers
 * de-duplicate by id: one id per message), in order per chat.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.ts";
import { freePort, type GatewayProcess, startGateway, waitFor } from "../helpers/gateway.ts";
import { makeHome } from "../helpers/home.ts";
import { postMessage, receiver, SECRET } from "../helpers/receiver.ts";

const CHATS = 6;
const PER_CHAT = 60;
const KILLS = 5;

describe("crash safety", () => {
  it(`kill -9 ${KILLS} times while ${CHATS * PER_CHAT} messages flow: each acknowledged message answered once, in order`, async () => {
    // A slow agent and a slow receiver: at every kill, messages wait both before and after the agent.
    const r = await receiver(() => ({ status: 200, delayMs: 15 }));
    const port = await freePort();
    const home = makeHome({
      config: `gateway:\n  http: { listen: "127.0.0.1:${port}" }\n  reconnect: { initial: 20ms, max: 100ms }\nagent:\n  kind: command\n  command: { argv: ["${join(ROOT, "test", "fixtures", "agents", "slow-echo.sh")}"] }\nplatforms:\n  webhook: { allow_all: true, reply_url: "${r.url}" }\n`,
      env: `WEBHOOK_SECRET=${SECRET}\n`,
    });
    let gw: GatewayProcess = startGateway({ home, args: ["--log-level", "warn"] });
    const acknowledged = new Map<string, "accepted" | "duplicate">();
    let sending = true;

    const sendChat = async (chat: number) => {
      for (let n = 0; n < PER_CHAT; n++) {
        const message = {
          chat_id: `chat-${chat}`,
          user_id: "u",
          text: `chat-${chat} #${n}`,
          message_id: `chat-${chat}-${n}`,
        };
        // A sender retries what was not acknowledged, with the same message id.
        for (;;) {
          try {
            const res = await postMessage(port, message);
            if (res.status === 202 || res.status === 200) {
              acknowledged.set(message.message_id, res.status === 202 ? "accepted" : "duplicate");
              // Paced, so that the traffic spans every kill.
              await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30));
              break;
            }
            await res.body?.cancel();
          } catch {
            // connection refused or reset: the gateway is down
          }
          await new Promise((resolve) => setTimeout(resolve, 15));
        }
      }
    };
    let killsWhileSending = 0;
    const crasher = async () => {
      for (let k = 0; k < KILLS; k++) {
        await new Promise((resolve) => setTimeout(resolve, 150 + Math.random() * 250));
        gw.child.kill("SIGKILL");
        await gw.exited;
        if (sending) killsWhileSending++;
        gw = startGateway({ home, args: ["--log-level", "warn"] });
      }
    };
    const senders = Promise.all(Array.from({ length: CHATS }, (_, c) => sendChat(c))).then(() => {
      sending = false;
    });
    await Promise.all([senders, crasher()]);
    expect(acknowledged.size).toBe(CHATS * PER_CHAT);
    expect(killsWhileSending).toBe(KILLS);

    const repliesFor = (messageId: string) =>
      new Set(
        r
          .delivered()
          .filter((d) => d.body.in_reply_to === messageId)
          .map((d) => d.body.id),
      );
    await waitFor(
      "a reply to every message",
      () => [...acknowledged.keys()].every((id) => repliesFor(id).size > 0),
      60_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));

    for (const messageId of acknowledged.keys()) expect(repliesFor(messageId).size, messageId).toBe(1);
    for (const d of r.delivered()) {
      expect(d.signatureOk).toBe(true);
      expect(acknowledged.has(d.body.in_reply_to ?? "")).toBe(true);
      expect(JSON.parse(d.body.text).text).toBe(
        d.body.in_reply_to!.replace(/^chat-(\d+)-(\d+)$/, "chat-$1 #$2"),
      );
    }
    for (let c = 0; c < CHATS; c++) {
      const firstArrivals: number[] = [];
      for (const d of r.delivered()) {
        if (d.body.chat_id !== `chat-${c}`) continue;
        const n = Number(d.body.in_reply_to!.split("-")[2]);
        if (!firstArrivals.includes(n)) firstArrivals.push(n);
      }
      expect(firstArrivals, `chat-${c}`).toEqual(Array.from({ length: PER_CHAT }, (_, i) => i));
    }
    gw.child.kill("SIGTERM");
    await gw.exited;
  }, 120_000);
});
