/**
 * A stand-in for systemd's notify socket: `test/fixtures/notify-listener.py` binds AF_UNIX/SOCK_DGRAM (Node
 * cannot) and reports every datagram with the sender's pid from SCM_CREDENTIALS.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach } from "vitest";
import { ROOT } from "./cli.ts";
import { waitFor } from "./gateway.ts";

const SCRIPT = join(ROOT, "test", "fixtures", "notify-listener.py");
const running = new Set<ChildProcess>();

afterEach(() => {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
});

export interface Datagram {
  pid: number | null;
  text: string;
}

export interface NotifyListener {
  /** The value for NOTIFY_SOCKET. */
  address: string;
  datagrams: Datagram[];
  /** Datagrams whose lines include `KEY=value`. */
  with(line: string): Datagram[];
  close(): void;
}

/** Starts a listener on `address` (a path, or `@name` for the abstract namespace) and waits until it is bound. */
export async function notifyListener(address: string): Promise<NotifyListener> {
  const child = spawn("python3", [SCRIPT, address], { stdio: ["pipe", "pipe", "pipe"] });
  running.add(child);
  let failure = "";
  child.once("error", (error) => {
    failure = `cannot run python3 (${error.message}); the notify tests need it (.ci/run installs it)`;
  });
  child.stderr!.on("data", (chunk: Buffer) => (failure += chunk.toString("utf8")));
  const listener: NotifyListener = {
    address,
    datagrams: [],
    with: (line) => listener.datagrams.filter((d) => d.text.split("\n").includes(line)),
    close() {
      child.kill("SIGTERM");
      running.delete(child);
    },
  };
  let listening = false;
  let buffer = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("utf8");
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      const record = JSON.parse(buffer.slice(0, nl)) as Datagram & { listening?: string };
      buffer = buffer.slice(nl + 1);
      if (record.listening) listening = true;
      else listener.datagrams.push(record);
    }
  });
  await waitFor("the notify listener to bind", () => {
    if (failure && !listening) throw new Error(failure);
    return listening;
  });
  return listener;
}
