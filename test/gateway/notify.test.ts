/**
 * The systemd notify protocol, against a real unix datagram socket standing in for systemd: READY=1 with STATUS=
 * once the gateway serves, WATCHDOG=1 from the main event loop (and none when it is wedged, or meant for another
 * pid), STOPPING=1 on SIGTERM; from the compiled binary, from Deno with FFI, and the Node bundle's one warning.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DENO, NODE_BUNDLE, ROOT } from "../helpers/cli.ts";
import { freePort, type GatewayProcess, startGateway, waitFor } from "../helpers/gateway.ts";
import { makeHome, tempDir } from "../helpers/home.ts";
import { type NotifyListener, notifyListener } from "../helpers/notify-listener.ts";

const WATCHDOG_USEC = "200000"; // pings every 100 ms

async function gatewayHome(platforms = "") {
  const port = await freePort();
  const home = makeHome({
    config: `gateway:\n  http: { listen: "127.0.0.1:${port}" }\n  drain_timeout: 1s\n${platforms}`,
    env: "WEDGE_TOKEN=wedge-token-1234\n",
  });
  return { home, port };
}

const readyz = async (port: number) =>
  (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) })).status;

async function untilReady(gw: GatewayProcess, port: number) {
  await waitFor(
    "/readyz 200",
    async () => {
      if (gw.exit) throw new Error(`the gateway exited ${JSON.stringify(gw.exit)}: ${gw.stderr.join("")}`);
      return (await readyz(port)) === 200;
    },
    20_000,
  );
}

const pings = (listener: NotifyListener) => listener.with("WATCHDOG=1").length;

async function pingsDuring(listener: NotifyListener, ms: number): Promise<number> {
  const before = pings(listener);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return pings(listener) - before;
}

describe("sd_notify from the compiled binary", () => {
  it("READY=1 with STATUS= once /readyz is 200, WATCHDOG=1 every WATCHDOG_USEC/2, STOPPING=1 on SIGTERM; all from the main pid", async () => {
    const listener = await notifyListener(join(tempDir(), "notify"));
    const { home, port } = await gatewayHome();
    const gw = startGateway({
      home,
      env: { NOTIFY_SOCKET: listener.address, WATCHDOG_USEC },
    });
    await untilReady(gw, port);
    const [ready] = await waitFor(
      "READY=1",
      () => listener.with("READY=1").length > 0 && listener.with("READY=1"),
    );
    expect(ready!.text).toBe("READY=1\nSTATUS=running: no platforms enabled");
    await waitFor("the first pings", () => pings(listener) >= 3);
    // About ten in a second; a window, not a timing.
    const count = await pingsDuring(listener, 1000);
    expect(count).toBeGreaterThanOrEqual(4);
    expect(count).toBeLessThanOrEqual(15);

    gw.child.kill("SIGTERM");
    expect(await gw.exited).toEqual({ code: 0, signal: null });
    expect(listener.with("STOPPING=1")).toHaveLength(1);
    const texts = listener.datagrams.map((d) => d.text);
    expect(texts.indexOf("STOPPING=1")).toBeGreaterThan(texts.lastIndexOf("WATCHDOG=1"));
    // NotifyAccess=main: systemd takes only datagrams whose credentials name the main pid.
    expect(new Set(listener.datagrams.map((d) => d.pid))).toEqual(new Set([gw.pid]));
    expect(gw.logs.filter((l) => l.event === "systemd.notify")).toEqual([]);
  });

  it("an @abstract NOTIFY_SOCKET works; with WATCHDOG_PID naming another process there are no pings", async () => {
    const listener = await notifyListener(`@hermes-test-${randomBytes(6).toString("hex")}`);
    const { home, port } = await gatewayHome();
    const gw = startGateway({
      home,
      env: { NOTIFY_SOCKET: listener.address, WATCHDOG_USEC, WATCHDOG_PID: String(process.pid) },
    });
    await untilReady(gw, port);
    await waitFor("READY=1", () => listener.with("READY=1").length === 1);
    expect(await pingsDuring(listener, 1000)).toBe(0);
    gw.child.kill("SIGTERM");
    expect(await gw.exited).toEqual({ code: 0, signal: null });
    expect(listener.with("STOPPING=1")).toHaveLength(1);
    expect(pings(listener)).toBe(0);
  });

  it("a wedged event loop sends no more pings (systemd then kills it with SIGABRT)", async () => {
    const listener = await notifyListener(join(tempDir(), "notify"));
    const { home, port } = await gatewayHome("platforms:\n  wedge: { allowed_users: [1] }\n");
    // The test platforms run from source under Bun: the same bun:ffi path as the binary.
    const gw = startGateway({ home, harness: true, env: { NOTIFY_SOCKET: listener.address, WATCHDOG_USEC } });
    await untilReady(gw, port);
    const [ready] = await waitFor(
      "READY=1",
      () => listener.with("READY=1").length > 0 && listener.with("READY=1"),
    );
    expect(ready!.text).toBe("READY=1\nSTATUS=running: 1/1 platform connected");
    await waitFor("the first pings", () => pings(listener) >= 3);

    gw.child.kill("SIGUSR2");
    await waitFor("the event loop to stop answering", async () => {
      try {
        await readyz(port);
        return false;
      } catch {
        return true;
      }
    });
    expect(await pingsDuring(listener, 1000)).toBe(0);
    expect(gw.exit).toBeUndefined();
    gw.child.kill("SIGKILL");
  });
});

describe("other runtimes", () => {
  it("Deno with FFI (-A) notifies like the binary", async () => {
    const listener = await notifyListener(join(tempDir(), "notify"));
    const { home, port } = await gatewayHome();
    const gw = startGateway({
      home,
      command: [DENO, ["run", "--quiet", "-A", join(ROOT, "src", "cli", "main.ts")]],
      env: { NOTIFY_SOCKET: listener.address, WATCHDOG_USEC },
    });
    await untilReady(gw, port);
    await waitFor("READY=1 and pings", () => listener.with("READY=1").length === 1 && pings(listener) >= 3);
    gw.child.kill("SIGTERM");
    expect(await gw.exited).toEqual({ code: 0, signal: null });
    expect(listener.with("STOPPING=1")).toHaveLength(1);
    expect(new Set(listener.datagrams.map((d) => d.pid))).toEqual(new Set([gw.pid]));
  }, 40_000);

  it.each([
    ["node", [process.execPath, [NODE_BUNDLE]], "the Node bundle cannot notify systemd"],
    [
      "deno without --allow-ffi",
      [
        DENO,
        [
          "run",
          "--quiet",
          "--allow-read",
          "--allow-write",
          "--allow-net",
          "--allow-env",
          "--allow-run",
          "--allow-sys",
          join(ROOT, "src", "cli", "main.ts"),
        ],
      ],
      "Deno runs without --allow-ffi",
    ],
  ] as [string, [string, string[]], string][])(
    "%s: runs, sends nothing, and says why once",
    async (_name, command, why) => {
      const listener = await notifyListener(join(tempDir(), "notify"));
      const { home, port } = await gatewayHome();
      const gw = startGateway({ home, command, env: { NOTIFY_SOCKET: listener.address, WATCHDOG_USEC } });
      await untilReady(gw, port);
      gw.child.kill("SIGTERM");
      expect(await gw.exited).toEqual({ code: 0, signal: null });
      const warnings = gw.logs.filter((l) => l.event === "systemd.notify");
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ level: "warn", msg: expect.stringContaining(why) });
      expect(listener.datagrams).toEqual([]);
    },
    40_000,
  );
});
