/**
 * Upstream failure 1, 3 and 5 (anchor note §8): one platform's trouble (missing token, refused token, a host that
 * does not resolve, a receive loop that returns, throws or hangs) never stops the process or the others.
 */
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { sign } from "../../src/platforms/webhook/signature.ts";
import { freePort, processResources, startGateway, status, waitFor, waitReady } from "../helpers/gateway.ts";
import { makeHome } from "../helpers/home.ts";

const SECRET = "3f9a1c7e5b2d8f4a6c0e9b7d5f3a1c8e";
const servers: { close(): void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

function tokenServer(): Promise<number> {
  return new Promise((resolve) => {
    const server: Server = createServer((req, res) => {
      res.statusCode = req.headers.authorization === "Bearer good-token-1234" ? 200 : 401;
      res.end("{}");
    });
    servers.push(server);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
  });
}

describe("isolation", () => {
  it("missing token, refused token and an unresolvable host: the gateway stays up and says why; the webhook keeps answering", async () => {
    const port = await freePort();
    const api = await tokenServer();
    const home = makeHome({
      config: `gateway:
  http: { listen: "127.0.0.1:${port}" }
  reconnect: { initial: 50ms, max: 200ms }
platforms:
  discord: { allowed_users: [1] }
  probe: { api_base: "http://127.0.0.1:${api}", allowed_users: [1] }
  probe2: { api_base: "https://probe.invalid", allowed_users: [1] }
  webhook: { allowed_users: [u1] }
`,
      env: `PROBE_TOKEN=rejected-token-1234\nPROBE2_TOKEN=whatever-token-1234\nWEBHOOK_SECRET=${SECRET}\n`,
    });
    const gw = startGateway({ home, harness: true });
    await waitReady(gw);
    const s = await waitFor("each platform to show its trouble", async () => {
      const s = await status(gw);
      const p = s.platforms;
      return p.probe?.state === "failed" && p.probe2?.state === "backoff" && p.webhook?.state === "connected"
        ? s
        : undefined;
    });
    expect(s.state).toBe("degraded");
    expect(s.platforms.discord).toMatchObject({
      state: "disabled",
      reason: expect.stringContaining("DISCORD_BOT_TOKEN"),
    });
    expect(s.platforms.discord?.reason).toMatch(/^missing-token: /);
    expect(s.platforms.probe?.reason).toContain("401");
    expect(s.platforms.probe2?.reason).toContain("ENOTFOUND");
    // Retried with backoff, forever: the attempts keep growing.
    const before = s.platforms.probe2!.attempts;
    await waitFor("more attempts", async () => (await status(gw)).platforms.probe2!.attempts > before + 2);

    const body = JSON.stringify({ chat_id: "c1", user_id: "u1", text: "still here", message_id: "m1" });
    const res = await fetch(`http://127.0.0.1:${port}/webhooks/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-hermes-signature": sign(SECRET, body) },
      body,
    });
    expect(res.status).toBe(202);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    expect(gw.exit).toBeUndefined();
    // Every transition is logged once, with the platform and its state.
    const probeLines = gw.logs.filter((l) => l.event === "platform.state" && l.platform === "probe");
    expect(probeLines.map((l) => l.state)).toEqual(["connecting", "failed"]);
  });

  it("receive loops that return, throw or hang are noticed and restarted; the process never exits", async () => {
    const home = makeHome({
      config: `gateway:
  http: { listen: "127.0.0.1:${await freePort()}" }
  reconnect: { initial: 20ms, max: 100ms }
  watchdog: { interval: 50ms, failure_threshold: 2 }
platforms:
  quiet: { allowed_users: [1] }
  crashy: { allowed_users: [1] }
  stuck: { allowed_users: [1] }
`,
      env: "QUIET_TOKEN=quiet-token-1234\nCRASHY_TOKEN=crashy-token-1234\nSTUCK_TOKEN=stuck-token-1234\n",
    });
    const gw = startGateway({ home, harness: true, env: { HERMES_TEST_LIVENESS_MS: "300" } });
    await waitReady(gw);
    const s = await waitFor("three reconnects each", async () => {
      const s = await status(gw);
      return ["quiet", "crashy", "stuck"].every((n) => (s.platforms[n]?.reconnects ?? 0) >= 3)
        ? s
        : undefined;
    });
    expect(s.platforms.stuck).toBeDefined();
    const reasons = (name: string) =>
      new Set(
        gw.logs
          .filter((l) => l.platform === name && l.state === "backoff")
          .map((l) => String(l.reason).replace(/[\d.]+ s \(/, "N s (")),
      );
    expect(reasons("quiet")).toEqual(new Set(["the receive loop ended without an error"]));
    expect(reasons("crashy")).toEqual(new Set(["socket closed unexpectedly"]));
    expect(reasons("stuck")).toEqual(new Set(["no progress for N s (liveness limit 0.3 s)"]));
    const metrics = await (await gw.control("GET", "/metrics")).body;
    expect(String(metrics)).toMatch(/hermes_watchdog_trips_total\{platform="stuck"\} [3-9]/);
    expect(gw.exit).toBeUndefined();
  });

  it("1,000 failed attempts leave open file descriptors and memory flat", async () => {
    const open: import("node:net").Socket[] = [];
    servers.push({
      close: () => {
        for (const socket of open) socket.destroy();
      },
    });
    // The server keeps every connection open: only the gateway closing its end frees the descriptor.
    const sink = createTcpServer((socket) => socket.on("error", () => {}));
    servers.push({ close: () => sink.close() });
    sink.on("connection", (socket) => open.push(socket));
    const sinkPort = await new Promise<number>((resolve) =>
      sink.listen(0, "127.0.0.1", () => resolve((sink.address() as { port: number }).port)),
    );
    const home = makeHome({
      config: `gateway:
  http: { listen: "127.0.0.1:${await freePort()}" }
  reconnect: { initial: 1ms, max: 2ms }
platforms:
  flaky: { api_base: "http://127.0.0.1:${sinkPort}", allowed_users: [1] }
`,
      env: "FLAKY_TOKEN=flaky-token-1234\n",
    });
    const gw = startGateway({ home, harness: true, args: ["--log-level", "warn"] });
    await waitReady(gw);
    await waitFor("200 attempts", async () => (await status(gw)).platforms.flaky!.attempts >= 200, 30_000);
    const early = processResources(gw.pid);
    await waitFor("1,200 attempts", async () => (await status(gw)).platforms.flaky!.attempts >= 1200, 60_000);
    const late = processResources(gw.pid);
    expect(late.fds).toBeLessThanOrEqual(early.fds + 2);
    expect(late.rssKiB - early.rssKiB).toBeLessThan(12 * 1024);
    expect(gw.exit).toBeUndefined();
  }, 90_000);
});
