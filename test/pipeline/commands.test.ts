/**
 * Admin chat commands. Upstream failure 2 and its kin: a /restart from a non-admin does nothing, a /restart
 * delivered twice restarts once, and the chat that asked hears from the new process that it is back.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hermes } from "../helpers/cli.ts";
import { freePort, startGateway, status, waitFor, waitReady } from "../helpers/gateway.ts";
import { makeHome } from "../helpers/home.ts";
import { postMessage, receiver, SECRET } from "../helpers/receiver.ts";

async function setup() {
  const r = await receiver();
  const port = await freePort();
  const home = makeHome({
    config: `gateway:\n  http: { listen: "127.0.0.1:${port}" }\n  drain_timeout: 2s\nplatforms:\n  webhook:\n    allowed_users: [admin1, user1]\n    admins: [admin1]\n    reply_url: "${r.url}"\n`,
    env: `WEBHOOK_SECRET=${SECRET}\n`,
  });
  const gw = startGateway({ home });
  await waitFor("webhook connected", async () =>
    (await waitReady(gw)).platforms.webhook?.state === "connected" ? true : undefined,
  );
  return { r, port, home, gw };
}

const texts = (r: Awaited<ReturnType<typeof receiver>>) => r.delivered().map((d) => d.body.text);

describe("admin chat commands", () => {
  it("/status and /platforms answer admins without reaching the agent", async () => {
    const { r, port } = await setup();
    await postMessage(port, { chat_id: "c", user_id: "admin1", text: "/status", message_id: "s1" });
    await postMessage(port, {
      chat_id: "c",
      user_id: "admin1",
      text: "/platforms@hermesbot",
      message_id: "p1",
    });
    await waitFor("two answers", () => r.delivered().length === 2);
    expect(texts(r)[0]).toMatch(
      /^hermes 0\.1\.0: running, pid \d+, up \d+ s\nplatforms: webhook connected\noutbox: \d+ pending, 0 dead$/,
    );
    expect(texts(r)[1]).toBe("webhook: connected");
  });

  it("a /restart from someone who is not an admin is refused politely; nothing restarts", async () => {
    const { r, port, gw } = await setup();
    await postMessage(port, { chat_id: "c", user_id: "user1", text: "/restart", message_id: "r1" });
    await waitFor("the refusal", () => r.delivered().length === 1);
    expect(texts(r)).toEqual(["Sorry, /restart is for admins only."]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(gw.exit).toBeUndefined();
    expect((await status(gw)).pid).toBe(gw.pid);
  });

  it("a /restart delivered twice restarts once, and the chat hears that the new process is back", async () => {
    const { r, port, home, gw } = await setup();
    const restart = { chat_id: "ops-room", user_id: "admin1", text: "/restart", message_id: "restart-1" };
    expect((await postMessage(port, restart)).status).toBe(202);
    expect(await gw.exited).toEqual({ code: 75, signal: null });
    // Not supervised: the gateway started its own replacement, which announces itself.
    await waitFor("back online", () => texts(r).some((t) => t.startsWith("Back online after")), 20_000);
    expect(texts(r)[0]).toBe("Restarting…");
    expect(texts(r)[1]).toMatch(/^Back online after \d+\.\d s\.$/);
    expect(r.delivered()[1]!.body.chat_id).toBe("ops-room");
    const next = await waitFor("the new process's state", () => {
      const pid = JSON.parse(readFileSync(join(home, "state", "gateway.json"), "utf8")).pid as number;
      return pid !== gw.pid ? pid : undefined;
    });
    // The platform delivers the same /restart again: a duplicate, no second restart.
    const again = await postMessage(port, restart);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ duplicate: true });
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(JSON.parse(hermes(["gateway", "status", "--json", "--home", home]).stdout).pid).toBe(next);
    expect(hermes(["gateway", "stop", "--home", home]).code).toBe(0);
  }, 30_000);
});
