/**
 * The process contract, through the compiled binary: one instance per home, exit codes 0/69/75/78, signals,
 * reload, restart and stop from the CLI, and the unsupervised self-replacement (upstream failures 2 and 4).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BINARY, cleanEnv, hermes, NODE_BUNDLE } from "../helpers/cli.ts";
import { freePort, startGateway, status, waitFor, waitReady } from "../helpers/gateway.ts";
import { makeHome } from "../helpers/home.ts";

const SECRET = "3f9a1c7e5b2d8f4a6c0e9b7d5f3a1c8e";

async function home(extra = "") {
  const port = await freePort();
  return {
    port,
    home: makeHome({
      config: `gateway:\n  http: { listen: "127.0.0.1:${port}" }\n  drain_timeout: 2s\n${extra}`,
      env: `WEBHOOK_SECRET=${SECRET}\n`,
    }),
  };
}

describe("single instance", () => {
  it("a second instance exits 69 naming the holder's pid; the first is untouched", async () => {
    const { home: h, port } = await home();
    const first = startGateway({ home: h });
    await waitReady(first);
    const second = hermes(["gateway", "run", "--home", h], { env: cleanEnv() });
    expect(second.code).toBe(69);
    expect(second.stderr).toContain(`pid ${first.pid}`);
    expect(second.stderr.trim().split("\n")).toHaveLength(1);
    expect((await status(first)).pid).toBe(first.pid);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it("20 simultaneous starts: exactly one winner", async () => {
    const { home: h } = await home();
    const children = Array.from({ length: 20 }, () =>
      spawn(BINARY, ["gateway", "run", "--home", h], { env: cleanEnv(), stdio: "ignore" }),
    );
    const exits: { pid: number | undefined; code: number | null }[] = [];
    for (const child of children) child.once("exit", (code) => exits.push({ pid: child.pid, code }));
    try {
      await waitFor("19 losers to exit", () => exits.length >= 19, 20_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(exits.map((e) => e.code)).toEqual(Array(19).fill(69));
      const winner = children.find((c) => !exits.some((e) => e.pid === c.pid))!;
      expect(winner.exitCode).toBeNull();
      await waitFor(
        "the winner's state file",
        () => JSON.parse(readFileSync(join(h, "state", "gateway.json"), "utf8")).pid === winner.pid,
      );
    } finally {
      for (const c of children) c.kill("SIGKILL");
    }
  });

  it("after kill -9 of the holder, the next start takes over at once", async () => {
    const { home: h } = await home();
    const first = startGateway({ home: h });
    await waitReady(first);
    first.child.kill("SIGKILL");
    await first.exited;
    const started = Date.now();
    const next = startGateway({ home: h });
    await waitReady(next);
    expect(Date.now() - started).toBeLessThan(10_000);
    // The stale state file of the killed process is not mistaken for a live gateway.
    expect((await status(next)).pid).toBe(next.pid);
  });
});

describe("the embedded default", () => {
  it("with no config.yaml the gateway runs, says so, and answers /status and /v1/send", async () => {
    const h = makeHome();
    // The default listen address is fixed (127.0.0.1:8642): the test takes it only if it is free.
    const gw = startGateway({ home: h });
    const s = await waitReady(gw);
    expect(s).toMatchObject({ state: "running", platforms: {} });
    expect(
      gw.logs.some((l) => l.event === "gateway.default" && String(l.msg).includes("embedded default")),
    ).toBe(true);
    const res = await fetch("http://127.0.0.1:8642/v1/send", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ target: "telegram", text: "hi" }),
    });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: string }).error).toBe("platform telegram is not enabled");
    expect((await fetch("http://127.0.0.1:8642/readyz")).status).toBe(200);
  });
});

describe("exit codes and signals", () => {
  it("SIGTERM and SIGINT are a drained stop, exit 0", async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const { home: h } = await home();
      const gw = startGateway({ home: h });
      await waitReady(gw);
      gw.child.kill(signal);
      expect(await gw.exited).toEqual({ code: 0, signal: null });
      expect(JSON.parse(readFileSync(join(h, "state", "gateway.json"), "utf8")).state).toBe("stopped");
      expect(gw.logs.map((l) => l.event)).toContain("gateway.stopped");
    }
  });

  it("SIGUSR1 is a drained restart: exit 75 when supervised", async () => {
    const { home: h } = await home();
    const gw = startGateway({ home: h, args: ["--supervised"] });
    await waitReady(gw);
    gw.child.kill("SIGUSR1");
    expect(await gw.exited).toEqual({ code: 75, signal: null });
  });

  it("a config.yaml that does not parse is exit 78; lint errors are 78 only with --strict or gateway.strict", async () => {
    const broken = makeHome({ config: "gateway: [\n" });
    expect(hermes(["gateway", "run", "--home", broken]).code).toBe(78);
    const port = await freePort();
    const withError = makeHome({
      config: `gateway:\n  http: { listen: "127.0.0.1:${port}" }\nplatforms:\n  discord: {}\n`,
    });
    const strict = hermes(["gateway", "run", "--home", withError, "--strict"]);
    expect(strict.code).toBe(78);
    expect(strict.stderr).toContain("missing-token");
    const strictInConfig = makeHome({
      config: `gateway:\n  strict: true\n  http: { listen: "127.0.0.1:${port}" }\nplatforms:\n  discord: {}\n`,
    });
    expect(hermes(["gateway", "run", "--home", strictInConfig]).code).toBe(78);
    // Without strict, the platform is disabled and the gateway runs.
    const gw = startGateway({ home: withError });
    const s = await waitReady(gw);
    expect(s.platforms.discord).toMatchObject({
      state: "disabled",
      reason: expect.stringMatching(/^missing-token/),
    });
  });

  it("SIGHUP re-reads config.yaml and .env: a new platform starts, the process stays", async () => {
    const port = await freePort();
    const h = makeHome({ config: `gateway:\n  http: { listen: "127.0.0.1:${port}" }\n` });
    const gw = startGateway({ home: h });
    expect(Object.keys((await waitReady(gw)).platforms)).toEqual([]);
    writeFileSync(
      join(h, "config.yaml"),
      `gateway:\n  http: { listen: "127.0.0.1:${port}" }\nplatforms:\n  webhook: { allowed_users: [u1] }\n`,
    );
    writeFileSync(join(h, ".env"), `WEBHOOK_SECRET=${SECRET}\n`, { mode: 0o600 });
    gw.child.kill("SIGHUP");
    await waitFor(
      "webhook connected",
      async () => (await status(gw)).platforms.webhook?.state === "connected",
    );
    // A broken config on reload is refused; the running one stays.
    writeFileSync(join(h, "config.yaml"), "gateway: [\n");
    gw.child.kill("SIGHUP");
    await waitFor("the refusal to be logged", () =>
      gw.logs.some((l) => String(l.msg).startsWith("reload refused")),
    );
    expect((await status(gw)).platforms.webhook?.state).toBe("connected");
    expect(gw.exit).toBeUndefined();
  });
});

describe("start-up failures", () => {
  // Faults of HERMES_HOME that the configuration cannot show: state/ taken by a file (met before the lock), the
  // lock file taken by a directory, and the outbox journal taken by a directory (met after the lock, once the
  // gateway object exists).
  const FAULTS = [
    {
      name: "state/ is a regular file",
      break: (h: string) => {
        writeFileSync(join(h, "state"), "not a directory\n");
        return { path: join(h, "state"), said: "is not a directory", repair: () => rmSync(join(h, "state")) };
      },
    },
    {
      // Opened through FFI (flock), whose failure carries no errno: the cause must still be named.
      name: "run/gateway.lock is a directory",
      break: (h: string) => {
        const path = join(h, "run", "gateway.lock");
        mkdirSync(path, { recursive: true });
        return { path, said: "is a directory", repair: () => rmSync(path, { recursive: true }) };
      },
    },
    {
      name: "outbox/journal.log is a directory",
      break: (h: string) => {
        const path = join(h, "outbox", "journal.log");
        mkdirSync(path, { recursive: true });
        return { path, said: "is a directory", repair: () => rmSync(path, { recursive: true }) };
      },
    },
  ];

  for (const fault of FAULTS) {
    it(`${fault.name}: exit 73 at once with one sentence naming the path, lock and socket released; repaired, it starts`, async () => {
      // drain_timeout is left at 30 s: a failed start that waited for its hard deadline would take 40 s.
      const port = await freePort();
      const h = makeHome({ config: `gateway:\n  http: { listen: "127.0.0.1:${port}" }\n` });
      const { path, said, repair } = fault.break(h);
      const gw = startGateway({ home: h });
      expect(await waitFor("the failed start to end", () => gw.exit, 10_000)).toEqual({
        code: 73,
        signal: null,
      });
      const stderr = gw.stderr.join("");
      expect(stderr.split("\n")).toHaveLength(2);
      expect(stderr.startsWith(`hermes: the gateway cannot start: ${path} ${said}`)).toBe(true);
      expect(JSON.stringify(gw.logs)).not.toMatch(/TypeError|\n\s+at /);
      expect(existsSync(join(h, "run", "gateway.sock"))).toBe(false);
      repair();
      const next = startGateway({ home: h });
      expect((await waitReady(next)).pid).toBe(next.pid);
    });
  }

  it("after the lock is taken, the Node bundle (a lock file, not flock) removes its lock file on the way out", async () => {
    const port = await freePort();
    const h = makeHome({ config: `gateway:\n  http: { listen: "127.0.0.1:${port}" }\n` });
    mkdirSync(join(h, "outbox", "journal.log"), { recursive: true });
    const gw = startGateway({ home: h, command: [process.execPath, [NODE_BUNDLE]] });
    expect(await waitFor("the failed start to end", () => gw.exit, 10_000)).toEqual({
      code: 73,
      signal: null,
    });
    expect(gw.logs).toContainEqual(
      expect.objectContaining({ level: "error", event: "gateway.start", exit_code: 73 }),
    );
    expect(existsSync(join(h, "run", "gateway.lock"))).toBe(false);
  });
});

describe("hermes gateway status, restart, stop", () => {
  it("status: 0 running, 1 degraded, 3 not running (also after kill -9, from the stale state file)", async () => {
    const { home: h } = await home();
    expect(hermes(["gateway", "status", "--home", h]).code).toBe(3);
    const gw = startGateway({ home: h });
    await waitReady(gw);
    const running = hermes(["gateway", "status", "--home", h]);
    expect(running.code).toBe(0);
    expect(running.stdout).toContain(`running (pid ${gw.pid})`);
    const json = JSON.parse(hermes(["gateway", "status", "--home", h, "--json"]).stdout);
    expect(json).toMatchObject({ version: "0.1.0", pid: gw.pid, state: "running" });
    gw.child.kill("SIGKILL");
    await gw.exited;
    const dead = hermes(["gateway", "status", "--home", h]);
    expect(dead.code).toBe(3);
    expect(dead.stdout).toMatch(/^not running: last seen as running \(pid \d+\), heartbeat \d+ s ago/);

    const degradedHome = makeHome({
      config: `gateway:\n  http: { listen: "127.0.0.1:${await freePort()}" }\nplatforms:\n  discord: {}\n`,
    });
    const degraded = startGateway({ home: degradedHome });
    await waitReady(degraded);
    const d = hermes(["gateway", "status", "--home", degradedHome]);
    expect(d.code).toBe(1);
    expect(d.stdout).toContain("discord    disabled: missing-token");
  });

  it("restart refuses a config with lint errors unless --force", async () => {
    const { home: h } = await home();
    const gw = startGateway({ home: h });
    await waitReady(gw);
    writeFileSync(
      join(h, "config.yaml"),
      `${readFileSync(join(h, "config.yaml"), "utf8")}platforms:\n  discord: {}\n`,
    );
    const refused = hermes(["gateway", "restart", "--home", h]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("missing-token");
    expect(refused.stderr).toContain("Refusing to restart");
    expect((await status(gw)).pid).toBe(gw.pid);
    // --force restarts anyway; the new process runs with the platform disabled, and says why.
    const forced = hermes(["gateway", "restart", "--home", h, "--force", "--timeout", "20"]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(new RegExp(`^restarted: old pid ${gw.pid}, new pid \\d+`));
    const after = JSON.parse(hermes(["gateway", "status", "--home", h, "--json"]).stdout);
    expect(after.platforms.discord).toMatchObject({
      state: "disabled",
      reason: expect.stringMatching(/^missing-token/),
    });
    expect(hermes(["gateway", "stop", "--home", h]).code).toBe(0);
  });

  it("restart (not supervised) drains, starts its own replacement, and prints old pid, new pid and seconds", async () => {
    const { home: h } = await home();
    const gw = startGateway({ home: h });
    await waitReady(gw);
    const restarted = hermes(["gateway", "restart", "--home", h, "--timeout", "20"]);
    expect(restarted.stderr).toBe("");
    expect(restarted.code).toBe(0);
    const m = /^restarted: old pid (\d+), new pid (\d+), [\d.]+ s\n$/.exec(restarted.stdout);
    expect(m?.[1]).toBe(String(gw.pid));
    expect(await gw.exited).toEqual({ code: 75, signal: null });
    const newPid = Number(m?.[2]);
    expect(newPid).not.toBe(gw.pid);
    const stopped = hermes(["gateway", "stop", "--home", h]);
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toMatch(new RegExp(`^stopped: pid ${newPid}, `));
    expect(hermes(["gateway", "status", "--home", h]).code).toBe(3);
  });

  it("restart and stop with no gateway running", async () => {
    const { home: h } = await home();
    expect(hermes(["gateway", "restart", "--home", h])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining("No gateway is running"),
    });
    expect(hermes(["gateway", "stop", "--home", h])).toMatchObject({
      code: 0,
      stdout: expect.stringContaining("not running"),
    });
  });
});
