/**
 * Upstream failure 4: after /restart the process never exited. Here an adapter that leaves a socket, a timer,
 * an unresolved promise or a busy loop behind cannot keep the gateway alive past drain + 10 s: it exits 75.
 */
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HARD_DEADLINE_GRACE_MS } from "../../src/gateway/gateway.ts";
import { freePort, startGateway, waitFor, waitReady } from "../helpers/gateway.ts";
import { makeHome } from "../helpers/home.ts";

const DRAIN_MS = 500;
const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

describe("the hard shutdown deadline", () => {
  it.each(["socket", "timer", "promise", "busy"])(
    "a restart with a stuck %s ends with 75 by the deadline",
    async (mode) => {
      const sink = createServer((s) => s.on("error", () => {}));
      const sinkPort = await new Promise<number>((resolve) =>
        sink.listen(0, "127.0.0.1", () => resolve((sink.address() as { port: number }).port)),
      );
      closers.push(() => sink.close());
      const home = makeHome({
        config: `gateway:
  http: { listen: "127.0.0.1:${await freePort()}" }
  drain_timeout: ${DRAIN_MS}ms
platforms:
  sticky: { api_base: "http://127.0.0.1:${sinkPort}", allowed_users: [1] }
`,
        env: "STICKY_TOKEN=sticky-token-1234\n",
      });
      const gw = startGateway({
        home,
        harness: true,
        args: ["--supervised"],
        env: { HERMES_TEST_STICKY: mode },
      });
      await waitFor("sticky connected", async () =>
        (await waitReady(gw)).platforms.sticky?.state === "connected" ? true : undefined,
      );
      const asked = Date.now();
      expect((await gw.control("POST", "/admin/restart")).status).toBe(202);
      const exit = await gw.exited;
      const took = Date.now() - asked;
      expect(exit).toEqual({ code: 75, signal: null });
      // The deadline is drain + 10 s (plus the half second the out-of-loop backstop waits for the in-loop one).
      expect(took).toBeLessThan(DRAIN_MS + HARD_DEADLINE_GRACE_MS + 2_000);
    },
    30_000,
  );
});
