/**
 * Seeds from upstream's failures, for Discord under the real Supervisor. Zombie: heartbeat ACKs stop while TCP
 * stays open; it must be caught by the first missed ACK (so within interval + ACK deadline), closed with a
 * resumable code and resumed, and what the server sent meanwhile arrives once, by replay. Outage: a scaled
 * 2-hour outage, then back, reconnects by itself within one backoff interval. Time is scaled 1/3000 for the
 * outage (the 5-minute backoff cap becomes 100 ms); the heartbeat interval is 200 ms (ACK deadline 50 ms).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { AdapterContext } from "../../src/platforms/adapter.ts";
import { createDiscordAdapter } from "../../src/platforms/discord/adapter.ts";
import discord from "../../src/platforms/discord/manifest.ts";
import { waitFor } from "../helpers/wait.ts";
import { connected, supervise } from "../kit/conformance.ts";
import { discordDriver, HEARTBEAT_MS, TOKEN } from "../kit/discord-driver.ts";
import { DiscordTestServer } from "../kit/discord-server.ts";
import { expectBackWithinOneInterval, SEED_RECONNECT as RECONNECT, sitOutOutage } from "../kit/seeds.ts";

const factory = (ctx: AdapterContext) => createDiscordAdapter(ctx);

let server: DiscordTestServer;
afterEach(async () => {
  await server?.close();
});

describe("seed, zombie (Discord)", () => {
  it("ACKs stop while TCP stays open: caught at the first missed ACK, resumed, the outage's messages arrive once", async () => {
    server = await DiscordTestServer.start(TOKEN, { heartbeatIntervalMs: HEARTBEAT_MS });
    // The real liveness limit (60 s): only the adapter's ACK deadline can catch the zombie in time.
    let deliveries = 0;
    const h = supervise(discord, factory, discordDriver(server), {
      reconnect: RECONNECT,
      receive: () => {
        deliveries++;
        // Undefined: the harness then accepts (or de-duplicates) the message as usual.
        return undefined as never;
      },
    });
    await connected(h);
    server.userSays({ text: "before" });
    await waitFor("the first echo", () => server.sent.length === 1);
    const before = h.states.length;
    const beatsBefore = server.count("heartbeat");
    server.zombify();
    server.userSays({ text: "during 1" });
    server.userSays({ text: "during 2" });
    await waitFor("the zombie to be closed", () => server.clientCloses.includes(4200), 5000);
    // Caught at the first unanswered heartbeat, not after several: at most one more may have been on its way
    // when the ACKs stopped (client and server share this process's loop). The time it takes is the bench's.
    const unanswered = server.count("heartbeat") - beatsBefore;
    expect(unanswered).toBeGreaterThanOrEqual(1);
    expect(unanswered).toBeLessThanOrEqual(2);
    const backoff = h.states.indexOf("backoff", before);
    expect(h.reasons[backoff]).toMatch(/^zombie connection: no answer to a heartbeat within 50 ms/);
    expect(h.logs.some((l) => l.event === "discord.zombie")).toBe(true);

    await waitFor("the echoes of the outage", () => server.sent.length === 3, 5000);
    expect(server.identifies).toHaveLength(1);
    expect(server.resumes).toEqual([expect.objectContaining({ tokenOk: true, seq: 2 })]);
    expect(h.received.map((m) => m.text)).toEqual(["before", "during 1", "during 2"]);
    // Each message was handed to the gateway once: nothing came twice (live and replayed).
    expect(deliveries).toBe(3);
    expect(server.sent.map((m) => m.content)).toEqual(["echo: before", "echo: during 1", "echo: during 2"]);
  });
});

describe("seed, a long outage (Discord)", () => {
  it("a 2-hour outage (scaled), then back: connected again within one backoff interval, never `failed`", async () => {
    server = await DiscordTestServer.start(TOKEN, { heartbeatIntervalMs: HEARTBEAT_MS });
    const h = supervise({ ...discord, livenessMs: 2000 }, factory, discordDriver(server), {
      reconnect: RECONNECT,
    });
    await connected(h);
    const before = h.states.length;
    await server.refuse();
    await sitOutOutage(h, before, /^cannot reach the gateway at 127\.0\.0\.1:\d+: ECONNREFUSED/);
    expect(h.states.slice(before)).not.toContain("failed");
    await expectBackWithinOneInterval(h, () => server.resume());
    server.userSays({ text: "after the outage" });
    await waitFor("the echo", () => server.sent.some((m) => m.content === "echo: after the outage"));
  });
});
