/**
 * Adapter WebSockets (Discord's gateway, Slack's Socket Mode) go through the proxy the environment names, like
 * fetch: on Node in this process (an https-proxy-agent tunnel), and on Bun and Deno in a child process running
 * the same source (Bun's `ws` with its `proxy` option; Deno through the agent). The proxy records every
 * target, so "it went through" is observed; NO_PROXY keeps a host direct.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { openWebSocket } from "../../src/runtime/websocket.ts";
import { DENO, ROOT } from "../helpers/cli.ts";
import { ConnectProxy } from "../kit/connect-proxy.ts";

const BUN = join(ROOT, "node_modules", ".bin", "bun");
const VARS = ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"];
const VARIANTS = VARS.flatMap((v) => [v, v.toLowerCase()]);
const saved = Object.fromEntries(VARIANTS.map((v) => [v, process.env[v]]));

let proxy: ConnectProxy | undefined;
let wss: WebSocketServer | undefined;

afterEach(async () => {
  for (const v of VARIANTS) {
    if (saved[v] === undefined) delete process.env[v];
    else process.env[v] = saved[v];
  }
  await proxy?.close();
  await new Promise((resolve) => (wss ? wss.close(resolve) : resolve(undefined)));
  proxy = undefined;
  wss = undefined;
});

/** A WebSocket server on loopback that greets every client. */
async function greeter(): Promise<number> {
  wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  wss.on("connection", (socket) => socket.send("hello through"));
  await new Promise((resolve) => wss!.once("listening", resolve));
  return (wss.address() as { port: number }).port;
}

function withoutProxyVars(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const copy = { ...env };
  for (const v of VARIANTS) delete copy[v];
  return copy;
}

/** Opens a socket in this process and resolves with the first message. */
function firstMessage(url: string): Promise<string> {
  const controller = new AbortController();
  const socket = openWebSocket(url, { signal: controller.signal, handshakeTimeoutMs: 5000 });
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no message within 5 s")), 5000);
    socket.once("message", (data) => {
      clearTimeout(timer);
      controller.abort();
      resolve(String(data));
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Runs the same source under another runtime: it opens the socket and prints the first message. */
function firstMessageIn(runtime: "bun" | "deno", url: string, env: Record<string, string>): Promise<string> {
  // Evaluated with the project as working directory, so both find its node_modules (ws, https-proxy-agent).
  const code = `import { openWebSocket } from ${JSON.stringify(join(ROOT, "src", "runtime", "websocket.ts"))};
const controller = new AbortController();
const socket = openWebSocket(${JSON.stringify(url)}, { signal: controller.signal, handshakeTimeoutMs: 5000 });
socket.once("message", (data) => { console.log(String(data)); controller.abort(); });
socket.once("error", (error) => { console.error(String(error)); process.exitCode = 1; });
`;
  const [cmd, args] = runtime === "bun" ? [BUN, ["-e", code]] : [DENO, ["eval", "--ext=ts", code]];
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...withoutProxyVars(process.env), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${runtime}: no answer within 15 s: ${err}`));
    }, 15_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out.trim());
      else reject(new Error(`${runtime} exited ${code}: ${err}`));
    });
  });
}

describe("WebSocket through a proxy", () => {
  it("Node: HTTPS_PROXY/HTTP_PROXY and ALL_PROXY tunnel the socket with CONNECT; NO_PROXY goes direct", async () => {
    proxy = await ConnectProxy.start();
    const port = await greeter();
    const target = `127.0.0.1:${port}`;

    for (const v of VARIANTS) delete process.env[v];
    process.env.HTTP_PROXY = proxy.url;
    expect(await firstMessage(`ws://${target}/`)).toBe("hello through");
    expect(proxy.to(target).map((r) => r.method)).toEqual(["CONNECT"]);

    delete process.env.HTTP_PROXY;
    process.env.ALL_PROXY = proxy.url;
    expect(await firstMessage(`ws://${target}/`)).toBe("hello through");
    expect(proxy.to(target)).toHaveLength(2);

    process.env.NO_PROXY = "127.0.0.1";
    expect(await firstMessage(`ws://${target}/`)).toBe("hello through");
    expect(proxy.to(target)).toHaveLength(2);
  });

  it.each(["bun", "deno"] as const)(
    "%s: ALL_PROXY tunnels the socket; NO_PROXY goes direct",
    async (runtime) => {
      proxy = await ConnectProxy.start();
      const port = await greeter();
      const target = `127.0.0.1:${port}`;
      expect(await firstMessageIn(runtime, `ws://${target}/`, { ALL_PROXY: proxy.url })).toBe(
        "hello through",
      );
      expect(proxy.to(target).map((r) => r.method)).toEqual(["CONNECT"]);
      expect(
        await firstMessageIn(runtime, `ws://${target}/`, { ALL_PROXY: proxy.url, NO_PROXY: "127.0.0.1" }),
      ).toBe("hello through");
      expect(proxy.to(target)).toHaveLength(1);
    },
    40_000,
  );
});
