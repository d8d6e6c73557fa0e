/**
 * The same source runs on Bun (the compiled binary), Node (the bundle) and Deno (`deno run` on the source):
 * each gives the same answers.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readJournal } from "../../src/journal/journal.ts";
import { BINARY, cleanEnv, DENO, hermes, lintJson, NODE_BUNDLE, ROOT, type Runtime } from "../helpers/cli.ts";
import { freePort, waitFor } from "../helpers/gateway.ts";
import { makeHome } from "../helpers/home.ts";
import { postMessage, receiver, SECRET } from "../helpers/receiver.ts";

const RUNTIMES: Runtime[] = ["binary", "node", "deno"];

describe("runtimes agree", () => {
  const home = () =>
    makeHome({
      config:
        "gateway:\n  drain_timeout: soon\nplatforms:\n  discord: {}\n  slack:\n    enabled: yes\ncron:\n  jobs:\n    - id: a\n      schedule: '0 25 * * *'\n      timezone: Asia/Shangai\n      message: hi\n",
      env: "SLACK_BOT_TOKEN=xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy\n",
    });

  it("--version", () => {
    for (const runtime of RUNTIMES)
      expect(hermes(["--version"], { runtime }).stdout, runtime).toBe("hermes 0.1.0\n");
  });

  it("lint config gives the same report and exit code", () => {
    const dir = home();
    const [reference, ...others] = RUNTIMES.map((runtime) => ({ runtime, ...lintJson(dir, [], runtime) }));
    expect(reference!.code).toBe(1);
    expect(reference!.report.summary.errors).toBeGreaterThanOrEqual(4);
    for (const other of others) {
      expect(other.code, other.runtime).toBe(reference!.code);
      expect(other.report, other.runtime).toEqual(reference!.report);
    }
  });

  it("usage errors exit 2 everywhere", () => {
    for (const runtime of RUNTIMES)
      expect(hermes(["lint", "config", "--nope"], { runtime }).code, runtime).toBe(2);
  });
});

describe("the gateway runs on every runtime", () => {
  const commands: Record<Runtime, [string, string[]]> = {
    binary: [BINARY, []],
    node: [process.execPath, [NODE_BUNDLE]],
    deno: [DENO, ["run", "--quiet", "-A", join(ROOT, "src", "cli", "main.ts")]],
  };
  for (const runtime of RUNTIMES) {
    it(`${runtime}: starts, takes the lock, carries a message through its journals, stops on SIGTERM with 0`, async () => {
      const port = await freePort();
      const r = await receiver();
      const home = makeHome({
        config: `gateway:\n  http: { listen: "127.0.0.1:${port}" }\nplatforms:\n  webhook: { allow_all: true, reply_url: "${r.url}" }\n`,
        env: `WEBHOOK_SECRET=${SECRET}\n`,
      });
      const [cmd, pre] = commands[runtime];
      const child = spawn(cmd, [...pre, "gateway", "run", "--home", home], {
        env: cleanEnv(),
        stdio: "ignore",
      });
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      try {
        await waitFor(
          "healthz",
          async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200,
          20_000,
        );
        const status = await (await fetch(`http://127.0.0.1:${port}/status`)).json();
        expect(status).toMatchObject({ pid: child.pid, state: "running" });
        expect(hermes(["gateway", "run", "--home", home], { runtime }).code).toBe(69);
        const res = await postMessage(port, {
          chat_id: "c1",
          user_id: "u1",
          text: `hi from ${runtime}`,
          message_id: "1",
        });
        expect(res.status).toBe(202);
        const { id } = (await res.json()) as { id: string };
        await waitFor("the reply", () => r.delivered().length === 1, 10_000);
        expect(r.delivered()[0]!.body).toMatchObject({ id: `${id}.0`, text: `hi from ${runtime}` });
        child.kill("SIGTERM");
        expect(await exited).toBe(0);
        const inbound = readJournal<{ t: string; id: string }>(
          join(home, "state", "inbound.journal"),
        ).records;
        expect(inbound.map((x) => x.t)).toEqual(["in", "done"]);
        const outbox = readJournal<{ t: string; id: string }>(join(home, "outbox", "journal.log")).records;
        expect(outbox.map((x) => [x.t, x.id])).toEqual([
          ["out", `${id}.0`],
          ["sent", `${id}.0`],
        ]);
      } finally {
        child.kill("SIGKILL");
      }
    }, 30_000);
  }
});
