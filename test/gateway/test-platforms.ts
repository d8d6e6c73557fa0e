/**
 * Small test platforms, registered by the harness before the configuration schema loads. Each adapter plays one
 * failure upstream's gateway died of. Behaviour knobs come from the platform block (`api_base`) and from
 * HERMES_TEST_* variables, so one config describes a scenario.
 */
import { createConnection } from "node:net";
import { type Adapter, type AdapterContext, PlatformError } from "../../src/platforms/adapter.ts";
import { definePlatform } from "../../src/platforms/manifest.ts";
import { registerPlatform } from "../../src/platforms/registry.ts";

const liveness = Number(process.env.HERMES_TEST_LIVENESS_MS ?? 1000);

const manifest = (name: string, livenessMs: number | null = liveness) =>
  definePlatform({
    name,
    title: `Test ${name}`,
    envPrefix: name.toUpperCase(),
    credentials: [{ key: "token", env: `${name.toUpperCase()}_TOKEN`, secret: true, label: "token" }],
    transport: { receive: "test", modes: ["test"], webhook: false },
    gatewayUrl: false,
    messageLimit: 1000,
    livenessMs,
    chat: true,
    options: {},
  });

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

const noSend = async () => {};

/** Checks its token against `api_base` (401 → auth failure), then long-polls it, reporting progress per poll. */
function probe(ctx: AdapterContext): Adapter {
  const base = String(ctx.block.api_base ?? "http://127.0.0.1:9");
  const headers = { authorization: `Bearer ${ctx.credentials.token ?? ""}` };
  return {
    async run() {
      let response: Response;
      try {
        response = await fetch(`${base}/check`, { headers, signal: ctx.signal });
      } catch (error) {
        throw new PlatformError(
          "transient",
          `cannot reach ${new URL(base).host}: ${(error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).message}`,
        );
      }
      if (response.status === 401)
        throw new PlatformError("auth", "the server rejected the token (401 Unauthorized)");
      if (!response.ok) throw new PlatformError("transient", `check answered ${response.status}`);
      await response.body?.cancel();
      ctx.connected();
      while (!ctx.signal.aborted) {
        const poll = await fetch(`${base}/poll`, { headers, signal: ctx.signal });
        await poll.text();
        ctx.progress();
      }
    },
    // Messages for the chat are POSTed to `api_base`/send, where a test can read them.
    async send(message) {
      const response = await fetch(`${base}/send`, {
        method: "POST",
        headers,
        body: JSON.stringify(message),
      });
      await response.body?.cancel();
      if (!response.ok) throw new PlatformError("transient", `send answered ${response.status}`);
    },
  };
}

export function registerTestPlatforms(): void {
  registerPlatform(manifest("probe"), async () => probe);
  registerPlatform(manifest("probe2"), async () => probe);
  // The receive loop returns silently once connected (upstream's silent give-up).
  registerPlatform(manifest("quiet"), async () => (ctx) => ({
    async run() {
      ctx.connected();
      await new Promise((resolve) => setTimeout(resolve, 50));
    },
    send: noSend,
  }));
  // The receive loop throws once connected.
  registerPlatform(manifest("crashy"), async () => (ctx) => ({
    async run() {
      ctx.connected();
      await new Promise((resolve) => setTimeout(resolve, 50));
      throw new Error("socket closed unexpectedly");
    },
    send: noSend,
  }));
  // Connected, then never a sign of life again: a zombie.
  registerPlatform(manifest("stuck"), async () => (ctx) => ({
    async run() {
      ctx.connected();
      await aborted(ctx.signal);
    },
    send: noSend,
  }));
  // Each attempt opens a TCP connection (to `api_base`) and fails: nothing may be left open afterwards.
  registerPlatform(manifest("flaky"), async () => (ctx) => ({
    async run() {
      const url = new URL(String(ctx.block.api_base));
      await new Promise<void>((resolve, reject) => {
        const socket = createConnection({ host: url.hostname, port: Number(url.port) });
        const fail = (message: string) => {
          socket.destroy();
          reject(new PlatformError("transient", message));
        };
        socket.once("connect", () => fail("handshake refused"));
        socket.once("error", (e) => fail(e.message));
        ctx.signal.addEventListener(
          "abort",
          () => {
            socket.destroy();
            resolve();
          },
          { once: true },
        );
      });
    },
    send: noSend,
  }));
  // Connected; on SIGUSR2 it busy-loops on the main thread for good: a wedged event loop.
  registerPlatform(manifest("wedge", null), async () => (ctx) => ({
    async run() {
      const wedge = () => {
        for (;;) {}
      };
      process.once("SIGUSR2", wedge);
      ctx.connected();
      await aborted(ctx.signal);
      process.off("SIGUSR2", wedge);
    },
    send: noSend,
  }));
  // Ignores teardown and keeps the process alive in one of four ways (HERMES_TEST_STICKY).
  registerPlatform(manifest("sticky", null), async () => (ctx) => ({
    async run() {
      ctx.connected();
      await aborted(ctx.signal);
      const mode = process.env.HERMES_TEST_STICKY;
      if (mode === "socket") {
        const url = new URL(String(ctx.block.api_base));
        createConnection({ host: url.hostname, port: Number(url.port) }).on("error", () => {});
        await new Promise(() => {});
      }
      if (mode === "timer") {
        setInterval(() => {}, 1000);
        await new Promise(() => {});
      }
      if (mode === "promise") await new Promise(() => {});
      if (mode === "busy") for (;;) {}
    },
    send: noSend,
  }));
}
