/**
 * Node: @hono/node-server. Node has no FFI: it cannot flock (the lock falls back to a lock file checked for a
 * live holder), its deadline can only SIGKILL a blocked process (exit status 137 instead of the intended code),
 * and it cannot send sd_notify datagrams.
 */

import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Worker } from "node:worker_threads";
import { createAdaptorServer } from "@hono/node-server";
import type { FetchHandler, Runtime, ServerHandle } from "./types.ts";

function listen(
  server: Server,
  target: { port: number; hostname: string } | { path: string },
): Promise<ServerHandle> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    const done = () => {
      server.off("error", reject);
      const address = server.address();
      resolve({
        port: typeof address === "object" && address ? (address as AddressInfo).port : 0,
        close: () =>
          new Promise<void>((ok) => {
            server.closeAllConnections();
            server.close(() => ok());
          }),
      });
    };
    if ("path" in target) server.listen(target.path, done);
    else server.listen(target.port, target.hostname, done);
  });
}

export const runtime: Runtime = {
  name: "node",
  serveTcp(fetch: FetchHandler, hostname: string, port: number) {
    return listen(createAdaptorServer({ fetch }) as Server, { port, hostname });
  },
  serveUnix(fetch: FetchHandler, path: string) {
    return listen(createAdaptorServer({ fetch }) as Server, { path });
  },
  tryFlock() {
    return undefined;
  },
  armDeadline(ms: number, _code: number) {
    const worker = new Worker(
      `const { parentPort } = require("node:worker_threads");
       parentPort.once("message", ({ ms, pid }) => setTimeout(() => process.kill(pid, "SIGKILL"), ms));`,
      { eval: true },
    );
    worker.unref();
    worker.postMessage({ ms, pid: process.pid });
    return () => {
      void worker.terminate();
    };
  },
  openNotifySocket() {
    // node:dgram speaks UDP only, and reaching AF_UNIX/SOCK_DGRAM would take a native addon we do not ship.
    throw new Error(
      "the Node bundle cannot notify systemd (Node has no unix datagram sockets): READY, STATUS and WATCHDOG are not sent; run the compiled binary under Type=notify units",
    );
  },
  selfCommand() {
    return [process.execPath, [...process.execArgv, process.argv[1]!]];
  },
};
