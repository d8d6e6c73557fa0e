/**
 * `hermes cron list|add|pause|rm|run|status` against the real scheduler (cli.test.ts covers the same commands
 * against a stand-in control socket): through a running gateway, and through `hermes cron serve` with a gateway
 * standing by; a corrupt cron/jobs.json met by a running gateway.
 */
import { existsSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LIST_KEYS, type ListEntry, type RunResult } from "../../src/cron/types.ts";
import { cleanEnv, hermesAsync } from "../helpers/cli.ts";
import { freePort, type GatewayProcess, startGateway, waitFor, waitReady } from "../helpers/gateway.ts";
import { makeHome, writeFile } from "../helpers/home.ts";
import { type Receiver, receiver, SECRET } from "../helpers/receiver.ts";

const cron = (home: string, ...args: string[]) =>
  hermesAsync(["cron", ...args, "--home", home], { env: cleanEnv() });

async function listJson(home: string): Promise<ListEntry[]> {
  const run = await cron(home, "list", "--json");
  return (JSON.parse(run.stdout) as { jobs: ListEntry[] }).jobs;
}

const entry = (jobs: ListEntry[], id: string) => jobs.find((j) => j.id === id);

/** The slots (ms) of a job's results that reached the receiver, from their ids `cron:<job>:<slot>:<n>`. */
function deliveredSlots(r: Receiver, job: string): number[] {
  return r
    .delivered()
    .map((d) => new RegExp(`^cron:${job}:(.+):0$`).exec(d.body.id)?.[1])
    .filter((slot): slot is string => slot !== undefined && !slot.startsWith("manual-"))
    .map(Date.parse);
}

function homeWith(r: Receiver, port: number, jobs: string): string {
  return makeHome({
    config: `gateway:
  http: { listen: "127.0.0.1:${port}" }
  drain_timeout: 1s
platforms:
  webhook: { allow_all: true, home_channel: ops, reply_url: "${r.url}" }
cron:
  jobs:
${jobs}`,
    env: `WEBHOOK_SECRET=${SECRET}\n`,
  });
}

const events = (p: GatewayProcess, event: string) =>
  (p.logs as { event?: string; msg?: string; path?: string; kept_as?: string }[]).filter(
    (e) => e.event === event,
  );

describe("hermes cron through a running gateway", () => {
  it("list shows the live view; run goes through it and delivers; add, pause and rm change what it fires", async () => {
    const r = await receiver();
    const port = await freePort();
    const home = homeWith(
      r,
      port,
      `    - { id: tick, schedule: every 1s, message: tick, deliver: [webhook:ops] }
    - { id: report, schedule: "0 3 * * *", timezone: Europe/Berlin, command: "echo report-ok", deliver: [webhook:ops] }
    - { id: yearly, schedule: "0 0 1 1 *", timezone: UTC, catchup: skip, message: x }
`,
    );
    // The yearly job last ran three New Years ago: the gateway counts the two it missed since, and this one.
    const year = new Date().getUTCFullYear();
    writeFile(
      home,
      "cron/state.json",
      JSON.stringify({ version: 1, jobs: { yearly: { last_slot: `${year - 3}-01-01T00:00:00.000Z` } } }),
    );
    const gw = startGateway({ home });
    await waitReady(gw);

    // list: the gateway's live view, with the contract's keys, a run's outcome and the missed runs.
    const afterRun = await waitFor("tick's first run in the live view", async () => {
      const jobs = await listJson(home);
      return entry(jobs, "tick")?.last_status === "ok" ? jobs : undefined;
    });
    expect(afterRun.map((j) => j.id)).toEqual(["tick", "report", "yearly"]);
    for (const j of afterRun) expect(Object.keys(j)).toEqual(LIST_KEYS);
    const tick = entry(afterRun, "tick")!;
    expect(tick).toMatchObject({ enabled: true, last_error: null, missed_runs: 0, source: "config" });
    expect(Date.parse(tick.next_run_at!) % 1000).toBe(0);
    expect(Date.parse(tick.next_run_at!)).toBeGreaterThan(Date.parse(tick.last_run_at!));
    expect(entry(afterRun, "yearly")).toMatchObject({
      missed_runs: 3,
      last_status: null,
      next_run_at: `${year + 1}-01-01T00:00:00.000Z`,
    });
    const human = await cron(home, "list");
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^report +0 3 \* \* \* +\d{4}-\d\d-\d\d 03:00 Europe\/Berlin +- +- /m);
    expect(human.stdout).toMatch(/^yearly +0 0 1 1 \* +\d{4}-01-01 00:00 UTC .* 3 +config$/m);
    expect(human.stderr).toBe("");

    // status names the gateway.
    const status = await cron(home, "status", "--json");
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      alive: true,
      holder: { pid: gw.pid, kind: "gateway" },
      jobs: 3,
    });
    expect((await cron(home, "status")).stdout).toContain(
      `alive: the gateway (pid ${gw.pid}) holds the scheduler lock since `,
    );

    // run: through the gateway's scheduler; the result is printed and delivered to the reply_url.
    const run = await cron(home, "run", "report");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^job report: ok in \d+\.\d\d s; delivery: pending\nreport-ok\n$/);
    const delivered = await waitFor("report's result at the reply_url", () =>
      r.delivered().find((d) => /^cron:report:manual-.+:0$/.test(d.body.id)),
    );
    expect(delivered.body).toMatchObject({ chat_id: "ops", text: "report-ok" });
    await waitFor("report delivered, in the live view", async () => {
      const report = entry(await listJson(home), "report");
      return report?.last_status === "ok" && report.last_delivery_status === "delivered";
    });
    const json = await cron(home, "run", "report", "--json");
    expect(JSON.parse(json.stdout) as RunResult).toMatchObject({
      id: "report",
      status: "ok",
      error: null,
      delivery: "pending",
    });

    // add: the gateway reads cron/jobs.json again and fires the new job.
    const add = await cron(
      home,
      "add",
      "added",
      "--schedule",
      "every 1s",
      "--message",
      "from-the-cli",
      "--deliver",
      "webhook:ops",
    );
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toBe("");
    await waitFor("the added job's results at the reply_url", () => deliveredSlots(r, "added").length >= 2);
    expect(r.delivered().find((d) => d.body.id.startsWith("cron:added:"))?.body.text).toBe("from-the-cli");
    expect(entry(await listJson(home), "added")).toMatchObject({ source: "cli", enabled: true });

    // pause: once the live view shows it paused, none of its slots fires.
    expect((await cron(home, "pause", "added")).code).toBe(0);
    await waitFor("the pause in the live view", async () => {
      const added = entry(await listJson(home), "added");
      return added?.enabled === false && added.next_run_at === null;
    });
    const pausedAt = Date.now();
    // Three more slots of the other job pass (and are delivered) meanwhile.
    await waitFor("three later tick slots", () =>
      deliveredSlots(r, "tick").some((s) => s >= pausedAt + 3000),
    );
    expect(deliveredSlots(r, "added").filter((s) => s > pausedAt)).toEqual([]);

    // rm: gone from the file and from the live view.
    const rm = await cron(home, "rm", "added");
    expect(rm).toMatchObject({ code: 0, stdout: `removed added from ${join(home, "cron", "jobs.json")}\n` });
    await waitFor("added gone from the live view", async () => !entry(await listJson(home), "added"));
    expect(JSON.parse(readFileSync(join(home, "cron", "jobs.json"), "utf8")).jobs).toEqual([]);

    // The live view and the CLI's own computation (no scheduler) give the same next runs: one slot logic.
    const live = await listJson(home);
    gw.child.kill("SIGTERM");
    await gw.exited;
    const offline = await cron(home, "list", "--json");
    expect(offline.stderr).toContain("No scheduler is running");
    const off = (JSON.parse(offline.stdout) as { jobs: ListEntry[] }).jobs;
    for (const id of ["report", "yearly"]) {
      expect(entry(off, id)?.next_run_at).toBe(entry(live, id)?.next_run_at);
      expect(entry(off, id)?.missed_runs).toBe(entry(live, id)?.missed_runs);
    }
  }, 60_000);
});

describe("hermes cron status and run with hermes cron serve", () => {
  it("names cron serve while it holds the lock, the gateway once it takes over, and exits 3 when none runs", async () => {
    const r = await receiver();
    const port = await freePort();
    const home = homeWith(
      r,
      port,
      `    - { id: hourly, schedule: "0 * * * *", timezone: UTC, command: "echo from-cron-serve", deliver: [webhook:ops] }
`,
    );
    const none = await cron(home, "status");
    expect(none.code).toBe(3);
    expect(none.stdout).toContain(`Not running: no scheduler is alive for ${home}; its 1 job does not fire`);

    const serve = startGateway({ home, subcommand: ["cron", "serve"] });
    await waitFor("cron serve to hold the lock", () => events(serve, "cron.holder").length > 0);
    const gw = startGateway({ home });
    await waitReady(gw);
    await waitFor("the gateway to stand by", () => events(gw, "cron.standby").length > 0);
    const byServe = await cron(home, "status", "--json");
    expect(byServe.code).toBe(0);
    expect(JSON.parse(byServe.stdout).holder).toMatchObject({ pid: serve.pid, kind: "cron-serve" });
    expect((await cron(home, "status")).stdout).toContain(
      `alive: hermes cron serve (pid ${serve.pid}) holds the scheduler lock`,
    );

    // run: through cron serve, whose result reaches the reply_url through the gateway.
    const run = await cron(home, "run", "hourly");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^job hourly: ok in \d+\.\d\d s; delivery: pending\nfrom-cron-serve\n$/);
    await waitFor("the result at the reply_url", () =>
      r
        .delivered()
        .some((d) => d.body.id.startsWith("cron:hourly:manual-") && d.body.text === "from-cron-serve"),
    );

    // cron serve stops: the gateway takes over, and status names it.
    serve.child.kill("SIGTERM");
    await serve.exited;
    await waitFor(
      "the gateway named as the holder",
      async () => {
        const s = await cron(home, "status", "--json");
        return s.code === 0 && JSON.parse(s.stdout).holder?.kind === "gateway";
      },
      10_000,
    );

    gw.child.kill("SIGTERM");
    await gw.exited;
    const after = await cron(home, "status", "--json");
    expect(after.code).toBe(3);
    expect(JSON.parse(after.stdout)).toMatchObject({ alive: false, last_tick_at: null, jobs: 1 });
    expect(after.stderr).toContain("Not running");
  }, 60_000);
});

describe("a corrupt cron/jobs.json while the gateway runs", () => {
  it("is reported with its path, kept aside (never emptied), and cron list says so until it is fixed", async () => {
    const r = await receiver();
    const port = await freePort();
    const home = homeWith(r, port, "    - { id: tick, schedule: every 1s, message: tick }\n");
    const gw = startGateway({ home });
    await waitReady(gw);
    const add = await cron(home, "add", "mine", "--schedule", "0 4 * * *", "--message", "x");
    expect(add.code, add.stderr).toBe(0);
    await waitFor("mine in the live view", async () => entry(await listJson(home), "mine"));

    const jobsPath = join(home, "cron", "jobs.json");
    const good = readFileSync(jobsPath, "utf8");
    // Cut short, as by a full disk or a bad restore.
    const corrupt = good.slice(0, good.length / 2);
    writeFile(home, "cron/jobs.json", corrupt);
    const report = await waitFor("the gateway's report", () => events(gw, "cron.jobs_corrupt")[0]);
    expect(report.path).toBe(jobsPath);
    expect(report.msg).toContain(`${jobsPath} is not a valid jobs file`);
    const kept = report.kept_as!;
    expect(kept).toMatch(/jobs\.json\.corrupt-/);
    expect(readFileSync(kept, "utf8")).toBe(corrupt);
    expect(existsSync(jobsPath)).toBe(false);
    expect(events(gw, "cron.jobs_corrupt")).toHaveLength(1);

    await waitFor("mine gone from the live view", async () => !entry(await listJson(home), "mine"));
    const list = await cron(home, "list", "--json");
    expect(list.code).toBe(2);
    expect((JSON.parse(list.stdout) as { jobs: ListEntry[] }).jobs.map((j) => j.id)).toEqual(["tick"]);
    expect(list.stderr).toContain(`${kept} holds jobs that do not run`);
    expect(list.stderr).toContain(`move it back to ${jobsPath}`);
    // cron add warns too: the kept jobs do not run, whatever is added.
    const another = await cron(home, "add", "other", "--schedule", "0 5 * * *", "--message", "y");
    expect(another.code).toBe(0);
    expect(another.stderr).toContain(`${kept} holds jobs that do not run`);

    // Fixed and moved back: read again, and cron list is content.
    renameSync(kept, jobsPath);
    writeFile(home, "cron/jobs.json", good);
    await waitFor("mine back in the live view", async () => entry(await listJson(home), "mine"));
    expect(readdirSync(join(home, "cron")).filter((n) => n.includes("corrupt"))).toEqual([]);
    const fixed = await cron(home, "list");
    expect(fixed.code).toBe(0);
    expect(fixed.stderr).toBe("");
  }, 60_000);
});
