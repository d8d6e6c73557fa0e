/**
 * Seeds from upstream's failures, for Telegram under the real Supervisor. Zombie class: a long DNS outage, then
 * back, must reconnect by itself; a stalled poll must be caught by the poll deadline. Silent give-up: failing
 * reconnects never stop, and the state never says `connected` while it is not. Time is scaled 1/3000: the
 * backoff cap of 5 min becomes 100 ms, a 2-hour outage 2.4 s.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { AdapterContext } from "../../src/platforms/adapter.ts";
import { createTelegramAdapter } from "../../src/platforms/telegram/adapter.ts";
import telegram from "../../src/platforms/telegram/manifest.ts";
import { waitFor } from "../helpers/wait.ts";
import { connected, supervise } from "../kit/conformance.ts";
import {
  expectBackWithinOneInterval,
  expectRetriesNeverStop,
  SEED_RECONNECT as RECONNECT,
  sitOutOutage,
  waitForState,
} from "../kit/seeds.ts";
import { GRACE_MS, POLL_TIMEOUT_MS, TOKEN, telegramDriver } from "../kit/telegram-driver.ts";
import { TelegramTestServer, UNRESOLVABLE_API_BASE } from "../kit/telegram-server.ts";

let server: TelegramTestServer;
afterEach(async () => {
  await server?.close();
});

describe("seed, zombie class (Telegram)", () => {
  it("a 2-hour DNS outage (scaled), then back: connected again within one backoff interval, no restart", async () => {
    server = await TelegramTestServer.start(TOKEN);
    let outage = false;
    // During the outage every request goes to a name that does not resolve: a real DNS failure each time.
    const factory = (ctx: AdapterContext) =>
      createTelegramAdapter(ctx, {
        pollGraceMs: GRACE_MS,
        fetch: (url, init) => fetch(outage ? url.replace(server.url, UNRESOLVABLE_API_BASE) : url, init),
      });
    const h = supervise(telegram, factory, telegramDriver(server), { reconnect: RECONNECT });
    await connected(h);
    const before = h.states.length;
    outage = true;
    server.dropConnections();
    await sitOutOutage(h, before, /^cannot reach 127\.0\.0\.1:\d+: (ENOTFOUND|EAI_AGAIN)/);
    await expectBackWithinOneInterval(h, () => {
      outage = false;
    });
    // And it works: a message goes through the same supervisor, never restarted.
    server.pushMessage({ chatId: 8, userId: 8, text: "after the outage" });
    await waitFor("the echo", () => server.sent.some((m) => m.text === "echo: after the outage"));
  });

  it("a stalled poll is caught by the poll deadline (timeout + grace), not left for the watchdog", async () => {
    server = await TelegramTestServer.start(TOKEN);
    // The real liveness limit (60 s): only the adapter's own deadline can catch the stall in time.
    const factory = (ctx: AdapterContext) => createTelegramAdapter(ctx, { pollGraceMs: GRACE_MS });
    const h = supervise(telegram, factory, telegramDriver(server), { reconnect: RECONNECT });
    await connected(h);
    const before = h.states.length;
    server.stall = true;
    const backoff = await waitForState(
      h,
      "backoff",
      before,
      "the stalled poll to be abandoned",
      POLL_TIMEOUT_MS + GRACE_MS + 2000,
    );
    expect(h.reasons[backoff]).toMatch(/^stale poll: getUpdates pending past its 1\.3 s deadline/);
    expect(h.logs.some((l) => l.event === "telegram.stale_poll")).toBe(true);
    expect(h.events).toEqual(["stale_poll"]);
    // The network heals: requests that hung are cut, new ones are answered.
    server.stall = false;
    server.dropConnections();
    await connected(h);
  });
});

describe("seed, silent give-up (Telegram)", () => {
  it("reconnects failing for a long time never stop, and the state never says connected meanwhile", async () => {
    server = await TelegramTestServer.start(TOKEN);
    const factory = (ctx: AdapterContext) => createTelegramAdapter(ctx, { pollGraceMs: GRACE_MS });
    const h = supervise(telegram, factory, telegramDriver(server), { reconnect: RECONNECT });
    await expectRetriesNeverStop(h, server, /cannot reach 127\.0\.0\.1/);
  });
});
