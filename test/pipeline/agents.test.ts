/** The command agent: bounded, reported, never a shell for the message text. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.ts";
import { freePort, startGateway, waitFor, waitReady } from "../helpers/gateway.ts";
import { makeHome, tempDir } from "../helpers/home.ts";
import { postMessage, receiver, SECRET } from "../helpers/receiver.ts";

const AGENTS = join(ROOT, "test", "fixtures", "agents");

async function gatewayWith(agent: string, env: Record<string, string> = {}) {
  const r = await receiver();
  const port = await freePort();
  const home = makeHome({
    config: `gateway:\n  http: { listen: "127.0.0.1:${port}" }\nagent:\n  kind: command\n  command:\n${agent}\nplatforms:\n  webhook: { allow_all: true, reply_url: "${r.url}" }\n`,
    env: `WEBHOOK_SECRET=${SECRET}\n`,
  });
  const gw = startGateway({ home, env });
  await waitFor("webhook connected", async () =>
    (await waitReady(gw)).platforms.webhook?.state === "connected" ? true : undefined,
  );
  return { r, port, gw, home };
}

const METACHARACTERS =
  "$(touch pwned-1) `touch pwned-2`; touch pwned-3 && echo | cat > pwned-4 '\" \\ $HOME ${PATH} * ?";

describe("the command agent", () => {
  it("gets the message as JSON on stdin, never in a command line: shell metacharacters stay text (argv)", async () => {
    const { r, port, home } = await gatewayWith(`    argv: ["${join(AGENTS, "stdin.sh")}"]`);
    expect(
      (await postMessage(port, { chat_id: "c", user_id: "u", text: METACHARACTERS, message_id: "1" })).status,
    ).toBe(202);
    await waitFor("the reply", () => r.delivered().length === 1);
    const echoed = JSON.parse(r.delivered()[0]!.body.text);
    expect(echoed).toMatchObject({
      platform: "webhook",
      chat_id: "c",
      user_id: "u",
      message_id: "1",
      text: METACHARACTERS,
    });
    for (let i = 1; i <= 4; i++) expect(existsSync(join(home, `pwned-${i}`))).toBe(false);
  });

  it("the same with a shell command line: the text is on stdin, not in the line", async () => {
    const { r, port, home } = await gatewayWith(`    shell: "cat"`);
    expect(
      (await postMessage(port, { chat_id: "c", user_id: "u", text: METACHARACTERS, message_id: "1" })).status,
    ).toBe(202);
    await waitFor("the reply", () => r.delivered().length === 1);
    expect(JSON.parse(r.delivered()[0]!.body.text).text).toBe(METACHARACTERS);
    for (let i = 1; i <= 4; i++) expect(existsSync(join(home, `pwned-${i}`))).toBe(false);
  });

  it("a hanging agent is killed with its children at the timeout; the chat is told", async () => {
    const pidfile = join(tempDir(), "child.pid");
    const { r, port, gw } = await gatewayWith(`    argv: ["${join(AGENTS, "hang.sh")}"]\n    timeout: 1s`, {
      HERMES_TEST_PIDFILE: pidfile,
    });
    const started = Date.now();
    expect(
      (await postMessage(port, { chat_id: "c", user_id: "u", text: "hi", message_id: "1" })).status,
    ).toBe(202);
    await waitFor("the error reply", () => r.delivered().length === 1, 10_000);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(r.delivered()[0]!.body.text).toBe("⚠️ The agent could not answer: timed out after 1 s.");
    const child = Number(readFileSync(pidfile, "utf8"));
    await waitFor("the agent's child to be gone", () => {
      try {
        process.kill(child, 0);
        return false;
      } catch {
        return true;
      }
    });
    expect(gw.exit).toBeUndefined();
  });

  it("a crashing agent: a short error in the chat, its stderr in the log", async () => {
    const { r, port, gw } = await gatewayWith(`    argv: ["${join(AGENTS, "crash.sh")}"]`);
    expect(
      (await postMessage(port, { chat_id: "c", user_id: "u", text: "hi", message_id: "1" })).status,
    ).toBe(202);
    await waitFor("the error reply", () => r.delivered().length === 1);
    expect(r.delivered()[0]!.body.text).toBe("⚠️ The agent could not answer: exit code 3.");
    expect(r.delivered()[0]!.body.text).not.toContain("boom");
    await waitFor("the log line", () =>
      gw.logs.some(
        (l) => l.event === "agent.error" && String(l.msg).includes("boom: the model server is down"),
      ),
    );
  });

  it("an agent that prints 1 MB: the reply is cut at 64 KiB", async () => {
    const { r, port } = await gatewayWith(`    argv: ["${join(AGENTS, "flood.sh")}"]`);
    expect(
      (await postMessage(port, { chat_id: "c", user_id: "u", text: "hi", message_id: "1" })).status,
    ).toBe(202);
    await waitFor("the reply", () => r.delivered().length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const text = r
      .delivered()
      .map((d) => d.body.text)
      .join("");
    expect(text.length).toBeLessThan(70 * 1024);
    expect(text.startsWith("x".repeat(1000))).toBe(true);
    expect(text).toContain("cut at 64 KiB");
  });
});
