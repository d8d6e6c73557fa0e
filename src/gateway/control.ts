/** The client side of the control socket and the state files, for `hermes gateway status|restart|stop`. */

import { readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import type { ServiceUnit } from "../systemd/unit.ts";
import { controlSocketPath } from "./run.ts";

export interface StateSnapshot {
  pid: number;
  state: string;
  started_at: string;
  updated_at?: string;
  control_socket?: string;
  invocation_id?: string | null;
  /** Set when the gateway runs in a systemd unit: `hermes gateway stop` goes through systemctl. */
  systemd?: ServiceUnit | null;
  platforms?: Record<string, { state: string; reason: string | null }>;
  [key: string]: unknown;
}

export function readState(home: string): StateSnapshot | undefined {
  try {
    return JSON.parse(readFileSync(join(home, "state", "gateway.json"), "utf8")) as StateSnapshot;
  } catch {
    return undefined;
  }
}

/** Seconds since the heartbeat was last written, or undefined when there is none. */
export function heartbeatAge(home: string): number | undefined {
  try {
    const { at } = JSON.parse(readFileSync(join(home, "state", "heartbeat"), "utf8")) as { at: string };
    return (Date.now() - Date.parse(at)) / 1000;
  } catch {
    return undefined;
  }
}

export function socketFor(home: string): string {
  return readState(home)?.control_socket ?? controlSocketPath(home);
}

export interface ControlResponse {
  status: number;
  body: unknown;
}

/** One HTTP request over the control socket (node:http works the same on Bun, Node and Deno). */
export function controlRequest(
  socketPath: string,
  method: "GET" | "POST",
  path: string,
  timeoutMs = 3000,
  body?: unknown,
): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { host: "localhost" };
    if (payload !== undefined) headers["content-type"] = "application/json";
    const req = request({ socketPath, method, path, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on("timeout", () => req.destroy(new Error("the control socket did not answer in time")));
    req.on("error", reject);
    req.end(payload);
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
