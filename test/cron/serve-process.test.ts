/**
 * `hermes cron serve` as a service: sd_notify as the gateway (READY=1 with STATUS=, WATCHDOG=1 while it ticks,
 * STOPPING=1), a second one stands by instead of exiting, and the exit codes: 0 on SIGTERM, 75 on SIGUSR1, 78 for
 * a configuration that cannot be used.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hermes } from "../helpers/cli.ts";
import { startGateway, waitFor } from "../helpers/gateway.ts";
import { makeHome, tempDir } from "../helpers/home.ts";
import { notifyListener } from "../helpers/notify-listener.ts";

const CONFIG = `gateway:
  drain_timeout: 1s
cron:
  jobs:
    - { id: nightly, schedule: "0 3 * * *", timezone: Asia/Shanghai, message: hi }
`;

describe("hermes cron serve as a service", () => {
  it("notifies READY, STATUS, WATCHDOG and STOPPING; a second one stands by (and says so) until SIGUSR1: 75", async () => {
    const home = makeHome({ config: CONFIG });
    const first = await notifyListener(join(tempDir(), "notify-1"));
    const second = await notifyListener(join(tempDir(), "notify-2"));
    const a = startGateway({
      home,
      subcommand: ["cron", "serve"],
      env: { NOTIFY_SOCKET: first.address, WATCHDOG_USEC: "400000" },
    });
    const [ready] = await waitFor("READY=1", () => first.with("READY=1").length > 0 && first.with("READY=1"));
    expect(ready!.text).toMatch(/^READY=1\nSTATUS=scheduler: 1 job, next \d{4}-\d\d-\d\dT19:00:00\.000Z$/);
    await waitFor("pings", () => first.with("WATCHDOG=1").length >= 3);

    const b = startGateway({
      home,
      subcommand: ["cron", "serve"],
      env: { NOTIFY_SOCKET: second.address, WATCHDOG_USEC: "400000" },
    });
    const [standby] = await waitFor(
      "READY=1",
      () => second.with("READY=1").length > 0 && second.with("READY=1"),
    );
    expect(standby!.text).toBe(
      `READY=1\nSTATUS=standing by: the cron-serve (pid ${a.pid}) holds the scheduler lock`,
    );
    // A standby is alive too: its tick retries the lock every second.
    await waitFor("standby pings", () => second.with("WATCHDOG=1").length >= 3);
    expect(b.exit).toBeUndefined();

    a.child.kill("SIGTERM");
    expect(await a.exited).toEqual({ code: 0, signal: null });
    expect(first.with("STOPPING=1")).toHaveLength(1);
    await waitFor("the takeover's STATUS", () =>
      second.datagrams.some((d) => /^STATUS=scheduler: 1 job/.test(d.text)),
    );
    b.child.kill("SIGUSR1");
    expect(await b.exited).toEqual({ code: 75, signal: null });
    expect(new Set(second.datagrams.map((d) => d.pid))).toEqual(new Set([b.pid]));
  }, 30_000);

  it("exits 78 when config.yaml cannot be used", () => {
    const home = makeHome({ config: "cron: [unclosed\n" });
    const run = hermes(["cron", "serve", "--home", home]);
    expect(run.code).toBe(78);
    expect(run.stderr).toMatch(/^hermes: .*config\.yaml cannot be used .*; run hermes lint config\n$/);
  });
});
