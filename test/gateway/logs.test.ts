/** Logs: one JSON line per event when stdout is not a terminal, platform and state on platform lines, no secrets. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort, startGateway, waitReady } from "../helpers/gateway.ts";
import { makeHome } from "../helpers/home.ts";

const SECRETS = {
  slack: "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
  webhook: "3f9a1c7e5b2d8f4a6c0e9b7d5f3a1c8e",
  http: "http-token-0c6f8a3e1d2b4c5f9e8d",
};

describe("gateway logs", () => {
  it("are JSON lines with the platform and state, and never contain a secret", async () => {
    const home = makeHome({
      config: `gateway:\n  http: { listen: "127.0.0.1:${await freePort()}", auth_token: "${SECRETS.http}" }\nplatforms:\n  telegram: { allowed_users: [1] }\n  webhook: { allowed_users: [u1] }\n`,
      // A Slack token where Telegram's belongs: the lint error about it is logged, redacted.
      env: `TELEGRAM_BOT_TOKEN=${SECRETS.slack}\nWEBHOOK_SECRET=${SECRETS.webhook}\n`,
      configMode: 0o644,
    });
    const gw = startGateway({ home });
    await waitReady(gw);
    gw.child.kill("SIGTERM");
    await gw.exited;
    expect(gw.logs.every((l) => !("raw" in l))).toBe(true);
    for (const line of gw.logs)
      expect(line).toMatchObject({
        time: expect.any(String),
        level: expect.any(String),
        event: expect.any(String),
        msg: expect.any(String),
      });
    const platformLines = gw.logs.filter((l) => l.event === "platform.state");
    expect(platformLines.length).toBeGreaterThan(2);
    for (const line of platformLines)
      expect(line).toMatchObject({ platform: expect.any(String), state: expect.any(String) });
    expect(
      gw.logs.some(
        (l) =>
          l.event === "config.lint" &&
          String(l.msg).includes("token-wrong-platform") &&
          String(l.msg).includes("TELEGRAM_BOT_TOKEN"),
      ),
    ).toBe(true);
    const everything = [
      JSON.stringify(gw.logs),
      gw.stderr.join(""),
      readFileSync(join(home, "logs", "gateway.log"), "utf8"),
      readFileSync(join(home, "state", "gateway.json"), "utf8"),
    ].join("\n");
    for (const [name, secret] of Object.entries(SECRETS))
      expect(everything.includes(secret), name).toBe(false);
  });
});
