/**
 * Seeds from upstream's failures, for Slack. Restart loop: a rejected Slack token must leave Slack `failed`
 * with the reason while the rest of the gateway (the webhook platform) works and the process stays up (the
 * compiled binary). Zombie class: a link whose pongs stop while TCP stays open must be dropped by the adapter's
 * own pong deadline (server pings keep arriving, so the gateway's no-progress watchdog never would), reopened on
 * a fresh URL, and what Slack sends again reaches the agent once; a long outage, then back, must reconnect by
 * itself within one backoff interval. Time is scaled 1/3000: the backoff cap of 5 min becomes 100 ms, a 2-hour
 * outage 2.4 s.
 */
import { afterEach, describe, expect, it } from "vitest";
import slack from "../../src/platforms/slack/manifest.ts";
import { sign } from "../../src/platforms/webhook/signature.ts";
import { startGatewayHome, status } from "../helpers/gateway.ts";
import { receiver, SECRET } from "../helpers/receiver.ts";
import { sleep, waitFor } from "../helpers/wait.ts";
import { connected, supervise } from "../kit/conformance.ts";
import {
  expectBackWithinOneInterval,
  expectRetriesNeverStop,
  SEED_RECONNECT as RECONNECT,
  sitOutOutage,
  waitForState,
} from "../kit/seeds.ts";
import { APP_TOKEN, BOT_TOKEN, scaledFactory, slackDriver, TOKENS } from "../kit/slack-driver.ts";
import { SlackTestServer, UNRESOLVABLE_API_BASE } from "../kit/slack-server.ts";

/** The gateway's no-progress limit, scaled down like the adapter's intervals (35 s real). */
const manifest = { ...slack, livenessMs: 3000 };

let server: SlackTestServer;
afterEach(async () => {
  await server?.close();
});

describe("seed, restart loop (Slack, compiled binary)", () => {
  it("a rejected Slack token is `failed` with the reason; the webhook platform keeps working; the process stays up", async () => {
    server = await SlackTestServer.start(TOKENS);
    server.rejectToken = true;
    const r = await receiver();
    const { gw, port } = await startGatewayHome({
      platforms: `  slack:\n    allowed_users: [U0USER555]\n    api_base: ${server.url}\n  webhook:\n    allowed_users: [u1]\n    reply_url: ${r.url}\n`,
      env: `SLACK_BOT_TOKEN=${BOT_TOKEN}\nSLACK_APP_TOKEN=${APP_TOKEN}\nWEBHOOK_SECRET=${SECRET}\n`,
    });
    await waitFor("slack failed", async () => (await status(gw)).platforms.slack?.state === "failed");
    const failed = (await status(gw)).platforms.slack;
    expect(failed?.reason).toBe(
      "Slack rejected the bot token (SLACK_BOT_TOKEN or platforms.slack.bot_token): invalid_auth on auth.test",
    );

    const body = JSON.stringify({ chat_id: "c1", user_id: "u1", text: "still here?", message_id: "m-1" });
    const res = await fetch(`http://127.0.0.1:${port}/webhooks/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-hermes-signature": sign(SECRET, body) },
      body,
    });
    expect(res.status).toBe(202);
    await waitFor("the webhook reply", () => r.requests.length === 1);
    expect(r.requests[0]?.body).toMatchObject({ chat_id: "c1", text: "still here?" });

    // Time passes: Slack stays failed without new attempts, and the process neither exits nor restarts.
    await sleep(1500);
    const later = await status(gw);
    expect(later.pid).toBe(gw.pid);
    expect(gw.exit).toBeUndefined();
    expect(later.state).toBe("degraded");
    expect(later.platforms.slack).toMatchObject({ state: "failed", attempts: failed?.attempts });
    expect(later.platforms.webhook?.state).toBe("connected");
    const output = JSON.stringify(gw.logs) + gw.stderr.join("");
    expect(output).not.toContain(BOT_TOKEN);
    expect(output).not.toContain(APP_TOKEN);
  });
});

describe("seed, zombie class (Slack)", () => {
  it("pongs stop while TCP stays open: caught by the pong deadline, reopened on a fresh URL, redelivered events reach the agent once", async () => {
    server = await SlackTestServer.start(TOKENS);
    // Slack pings us: progress keeps coming, so only the adapter's own pong deadline can catch this zombie.
    server.serverPingMs = 50;
    const h = supervise(manifest, scaledFactory(), slackDriver(server), { reconnect: RECONNECT });
    await connected(h);
    server.pushMessage({ channel: "D0A", user: "U0A", text: "before" });
    await waitFor("the first echo", () => server.posted.length === 1);

    // The link goes bad: acks are swallowed, then pings go unanswered. Two messages arrive meanwhile and are
    // handed to the agent, but Slack never learns that.
    server.breakLinks({ acks: true });
    const during = [
      server.pushMessage({ channel: "D0A", user: "U0A", text: "during 1" }),
      server.pushMessage({ channel: "D0A", user: "U0A", text: "during 2" }),
    ];
    await waitFor("both handed over", () => h.received.length === 3);
    const before = h.states.length;
    server.breakLinks({ pongs: true });
    const backoff = await waitForState(h, "backoff", before, "the zombie to be dropped", manifest.livenessMs);
    expect(h.reasons[backoff]).toMatch(/^zombie connection: no pong within 0\.5 s of a ping/);
    expect(h.reasons.filter((r) => r?.startsWith("no progress"))).toEqual([]);
    expect(h.logs.filter((l) => l.event === "slack.zombie")).toHaveLength(1);

    await waitFor("reconnected", () => h.supervisor.status.reconnects === 1);
    await waitFor("the redeliveries acked", () => server.unacked === 0);
    // A second link, on its own single-use URL from a second apps.connections.open.
    expect(server.count("apps.connections.open")).toBe(2);
    expect(new Set(server.ticketsUsed).size).toBe(2);
    // Slack sent both again; the agent saw each once, and answered each once.
    for (const d of during) expect(server.deliveries(d.envelopeId)).toBe(2);
    expect(h.received.map((m) => m.text)).toEqual(["before", "during 1", "during 2"]);
    await waitFor("three echoes", () => server.posted.length === 3);
    await sleep(200);
    expect(server.posted.map((p) => p.text).sort()).toEqual([
      "echo: before",
      "echo: during 1",
      "echo: during 2",
    ]);
  });

  it("a 2-hour outage (scaled), DNS failing, then back: connected again within one backoff interval, no restart", async () => {
    server = await SlackTestServer.start(TOKENS);
    let outage = false;
    // During the outage every Web API call goes to a name that does not resolve: a real DNS failure each time.
    const factory = scaledFactory({
      fetch: (url, init) => fetch(outage ? url.replace(server.url, UNRESOLVABLE_API_BASE) : url, init),
    });
    const h = supervise(manifest, factory, slackDriver(server), { reconnect: RECONNECT });
    await connected(h);
    const before = h.states.length;
    outage = true;
    server.dropConnections();
    // The host named is the configured one: the DNS failure is injected under it.
    await sitOutOutage(h, before, /^cannot reach 127\.0\.0\.1:\d+: (ENOTFOUND|EAI_AGAIN)/);
    expect(h.states.slice(before)).not.toContain("failed");
    await expectBackWithinOneInterval(h, () => {
      outage = false;
    });
    server.pushMessage({ channel: "D0A", user: "U0A", text: "after the outage" });
    await waitFor("the echo", () => server.posted.some((p) => p.text === "echo: after the outage"));
  });
});

describe("seed, silent give-up (Slack)", () => {
  it("reconnects failing for a long time never stop, and the state never says connected meanwhile", async () => {
    server = await SlackTestServer.start(TOKENS);
    const h = supervise(manifest, scaledFactory(), slackDriver(server), { reconnect: RECONNECT });
    await expectRetriesNeverStop(h, server, /cannot reach 127\.0\.0\.1|Socket Mode connection failed/);
  });
});
