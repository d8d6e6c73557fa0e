/**
 * `hermes cron list|add|rm|pause|resume|run|status` through the compiled binary: exit codes, `--json` shapes,
 * refusals, and what they say with no scheduler alive. The paths through a running scheduler are tested
 * against a fake control socket that speaks the contract (test/helpers/fake-scheduler.ts).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LIST_KEYS } from "../../src/cron/types.ts";
import { cleanEnv, hermes, hermesAsync } from "../helpers/cli.ts";
import { fakeScheduler, listEntry } from "../helpers/fake-scheduler.ts";
import { makeHome, writeFile } from "../helpers/home.ts";

const CONFIG = `cron:
  jobs:
    - id: backup
      schedule: "0 3 * * *"
      timezone: Europe/Berlin
      command: ["/bin/echo", "backed up"]
    - id: newyear
      schedule: "2099-01-01T09:00"
      timezone: Asia/Shanghai
      message: Happy new year
`;

/** A jobs.json as `hermes cron add` writes it. */
function jobsFile(jobs: Record<string, unknown>[]): string {
  return `${JSON.stringify({ version: 1, jobs }, null, 2)}\n`;
}

const readJobs = (home: string) =>
  (JSON.parse(readFileSync(join(home, "cron", "jobs.json"), "utf8")) as { jobs: Record<string, unknown>[] })
    .jobs;

const cron = (home: string, args: string[]) => hermes(["cron", ...args, "--home", home]);

describe("cron list, with no scheduler alive", () => {
  it("lists the jobs of both sources with their state, next runs in each job's zone, and says loudly that none fires", () => {
    const home = makeHome({
      config: CONFIG,
      jobs: jobsFile([
        { id: "feeds", schedule: "every 30m", message: "check", enabled: false },
        { id: "report", schedule: "30 8 * * 1-5", timezone: "America/New_York", message: "report" },
      ]),
    });
    writeFile(
      home,
      "cron/state.json",
      JSON.stringify({
        version: 1,
        jobs: {
          backup: {
            last_run_at: "2026-11-30T02:00:00.000Z",
            last_status: "error",
            last_error: "exit code 3: the backup disk /dev/sdb1 is full and nothing more fits on it",
            last_delivery_status: "failed",
            missed_runs: 2,
          },
        },
      }),
    );
    const run = cron(home, ["list"]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(
      /^ID\s+SCHEDULE\s+NEXT RUN\s+LAST RUN\s+STATUS\s+ERROR\s+DELIVERY\s+MISSED\s+SOURCE$/,
    );
    expect(lines).toHaveLength(5);
    const backup = lines.find((l) => l.startsWith("backup "))!;
    expect(backup).toMatch(/\d{4}-\d{2}-\d{2} 03:00 Europe\/Berlin/);
    // The last run in the job's zone: 02:00 UTC is 03:00 in Berlin.
    expect(backup).toContain("2026-11-30 03:00 ");
    expect(backup).toMatch(/ error +exit code 3: the backup disk \/dev\/sdb1… +failed +2 +config$/);
    expect(lines.find((l) => l.startsWith("newyear "))).toContain("2099-01-01 09:00 Asia/Shanghai");
    expect(lines.find((l) => l.startsWith("report "))).toMatch(/\d{2}:30 America\/New_York .* cli$/);
    const feeds = lines.find((l) => l.startsWith("feeds "))!;
    expect(feeds).toMatch(/^feeds \(paused\) +every 30m +paused /);
    expect(run.stderr).toContain(`No scheduler is running for ${home}`);
    expect(run.stderr).toContain("no job fires");
  });

  it("--json prints exactly the contract's keys, with next runs computed from the schedules", () => {
    const home = makeHome({
      config: CONFIG,
      jobs: jobsFile([{ id: "feeds", schedule: "every 30m", message: "check", enabled: false }]),
    });
    writeFile(
      home,
      "cron/state.json",
      JSON.stringify({ version: 1, jobs: { newyear: { missed_runs: 1, last_delivery_status: "pending" } } }),
    );
    const run = cron(home, ["list", "--json"]);
    expect(run.code).toBe(0);
    const { jobs } = JSON.parse(run.stdout) as { jobs: Record<string, unknown>[] };
    expect(Object.keys(JSON.parse(run.stdout))).toEqual(["jobs"]);
    for (const job of jobs) expect(Object.keys(job)).toEqual(LIST_KEYS);
    expect(jobs.map((j) => [j.id, j.source, j.enabled])).toEqual([
      ["backup", "config", true],
      ["newyear", "config", true],
      ["feeds", "cli", false],
    ]);
    expect(jobs[1]).toMatchObject({
      timezone: "Asia/Shanghai",
      next_run_at: "2099-01-01T01:00:00.000Z",
      missed_runs: 1,
      last_delivery_status: "pending",
      last_status: null,
    });
    expect(Date.parse(String(jobs[0]!.next_run_at))).toBeGreaterThan(Date.now());
    // A paused job has no next run; a job without a zone reports the machine's.
    expect(jobs[2]).toMatchObject({ next_run_at: null, timezone: expect.any(String) });
    expect(run.stderr).toContain("No scheduler is running");
  });

  it("says 'No jobs.' for a home without any", () => {
    const run = cron(makeHome(), ["list"]);
    expect(run).toMatchObject({ code: 0, stdout: "No jobs.\n" });
  });

  it("still lists config.yaml's jobs when cron/jobs.json is corrupt, names the file, exit 2, and keeps the file", () => {
    const corrupt = '{"version": 1, "jobs": [ {"id": "x",, } ]}\n';
    const home = makeHome({ config: CONFIG, jobs: corrupt });
    const run = cron(home, ["list", "--json"]);
    expect(run.code).toBe(2);
    expect((JSON.parse(run.stdout) as { jobs: { id: string }[] }).jobs.map((j) => j.id)).toEqual([
      "backup",
      "newyear",
    ]);
    expect(run.stderr).toContain(join(home, "cron", "jobs.json"));
    expect(readFileSync(join(home, "cron", "jobs.json"), "utf8")).toBe(corrupt);
    expect(readdirSync(join(home, "cron"))).toEqual(["jobs.json"]);
  });

  it("reports a job whose schedule cannot run, and lists the others", () => {
    const home = makeHome({
      config: `cron:\n  jobs:\n    - id: broken\n      schedule: "0 25 * * *"\n      message: x\n    - id: fine\n      schedule: "every 1h"\n      message: y\n`,
    });
    const run = cron(home, ["list"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^broken +0 25 \* \* \* +cannot run \(below\)/m);
    expect(run.stdout).toMatch(/^fine +every 1h +\d{4}-/m);
    expect(run.stderr).toContain('Job "broken" cannot run:');
  });
});

describe("cron add", () => {
  it("writes the job to cron/jobs.json and prints it with its next 3 runs in its zone", () => {
    const home = makeHome();
    const run = cron(home, [
      "add",
      "nightly",
      "--schedule",
      "0 3 * * *",
      "--timezone",
      "Europe/Berlin",
      "--command",
      "/usr/local/bin/backup",
      "--arg=--full",
      "--arg",
      "/data",
      "--deliver",
      "webhook:ops",
      "--deliver",
      "webhook:a,webhook:b",
      "--failure-deliver",
      "webhook:alerts",
      "--catchup",
      "all",
      "--timeout",
      "90s",
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`added nightly to ${join(home, "cron", "jobs.json")}`);
    expect(run.stdout).toMatch(
      /next 3 runs: \d{4}-\d\d-\d\d 03:00, \d{4}-\d\d-\d\d 03:00, \d{4}-\d\d-\d\d 03:00 \(Europe\/Berlin\)/,
    );
    expect(run.stderr).toContain("No scheduler is running");
    expect(readJobs(home)).toEqual([
      {
        id: "nightly",
        schedule: "0 3 * * *",
        timezone: "Europe/Berlin",
        command: ["/usr/local/bin/backup", "--full", "/data"],
        deliver: ["webhook:ops", "webhook:a", "webhook:b"],
        failure_deliver: ["webhook:alerts"],
        catchup: "all",
        timeout: "90s",
        enabled: true,
      },
    ]);
    // The file is the scheduler's to read: 0600 in a 0700 directory, no temp files left.
    expect(readdirSync(join(home, "cron")).sort()).toEqual(["jobs.json"]);
    // What was written is what lint reads back: the same job, the timeout still 90 s.
    const lint = hermes(["lint", "config", "--home", home, "--format", "json"]);
    expect(JSON.parse(lint.stdout).diagnostics.map((d: { rule: string }) => d.rule)).not.toContain(
      "jobs-file-invalid",
    );
  });

  it("takes --id, a shell command line, --disabled, and --json", () => {
    const home = makeHome();
    const run = cron(home, [
      "add",
      "--id",
      "tick",
      "--schedule",
      "every 90s",
      "--command",
      "date >> ticks.log",
      "--disabled",
      "--json",
    ]);
    expect(run.code).toBe(0);
    const printed = JSON.parse(run.stdout) as { job: Record<string, unknown>; next_runs: string[] };
    expect(Object.keys(printed)).toEqual(["job", "next_runs"]);
    expect(printed.job).toEqual(readJobs(home)[0]);
    expect(printed.job).toMatchObject({ command: "date >> ticks.log", enabled: false, timeout: "10m" });
    expect(printed.next_runs).toHaveLength(3);
    const [a, b] = printed.next_runs.map((t) => Date.parse(t));
    expect(b! - a!).toBe(90_000);
  });

  it.each([
    [["--schedule", "0 25 * * *", "--message", "x"], "invalid-cron", "Invalid value for hour"],
    [
      ["--schedule", "0 3 * * *", "--timezone", "Asia/Beijing", "--message", "x"],
      "timezone-invalid",
      "Asia/Shanghai",
    ],
    [["--schedule", "0 3 * * *", "--message", "x", "--prompt", "y"], "job-action", "2 actions"],
    [["--schedule", "0 3 * * *"], "job-action", "has no action"],
    [["--schedule", "0 3 * * *", "--message", "x", "--deliver", "telegarm"], "target-unknown", "telegram"],
  ])("refuses %j with the lint rule's message, exit 1, nothing written", (flags, rule, words) => {
    const home = makeHome();
    const run = cron(home, ["add", "job1", ...flags]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`[${rule}]`);
    expect(run.stderr).toContain(words);
    expect(run.stderr).toContain("nothing was written");
    expect(existsSync(join(home, "cron", "jobs.json"))).toBe(false);
  });

  it("refuses a one-shot time that has passed", () => {
    const home = makeHome();
    const run = cron(home, ["add", "old", "--schedule", "2020-01-01T09:00", "--message", "x"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("has passed");
    expect(existsSync(join(home, "cron", "jobs.json"))).toBe(false);
  });

  it("refuses an id that a job of config.yaml has, naming its line", () => {
    const home = makeHome({ config: CONFIG });
    const run = cron(home, ["add", "newyear", "--schedule", "every 1h", "--message", "x"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `job id "newyear" is taken by cron.jobs[1] in ${join(home, "config.yaml")} line 7`,
    );
    expect(existsSync(join(home, "cron", "jobs.json"))).toBe(false);
  });

  it("refuses an id that cron/jobs.json has, leaving the file as it was", () => {
    const text = jobsFile([{ id: "feeds", schedule: "every 30m", message: "check" }]);
    const home = makeHome({ jobs: text });
    const run = cron(home, ["add", "feeds", "--schedule", "every 1h", "--message", "x"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('job id "feeds" is taken');
    expect(readFileSync(join(home, "cron", "jobs.json"), "utf8")).toBe(text);
  });

  it("refuses to touch a corrupt cron/jobs.json, naming it, and keeps it where it is", () => {
    const corrupt = '{"version": 1, "jobs": [\n';
    const home = makeHome({ jobs: corrupt });
    const run = cron(home, ["add", "x", "--schedule", "every 1h", "--message", "x"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${join(home, "cron", "jobs.json")} is not a valid jobs file`);
    expect(readFileSync(join(home, "cron", "jobs.json"), "utf8")).toBe(corrupt);
    expect(readdirSync(join(home, "cron"))).toEqual(["jobs.json"]);
  });

  it.each([
    [["--message", "x"], "needs --schedule"],
    [
      ["--schedule", "every 1h", "--message", "x", "--catchup", "sometimes"],
      '--catchup "sometimes" is not valid',
    ],
    [["--schedule", "every 1h", "--message", "x", "--timeout", "soon"], '--timeout "soon" is not valid'],
    [["--schedule", "every 1h", "--arg", "x", "--message", "y"], "--arg gives arguments to --command"],
  ])("a wrong flag %j is a usage error, exit 2", (flags, words) => {
    const home = makeHome();
    const run = cron(home, ["add", "job1", ...flags]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(words);
    expect(existsSync(join(home, "cron", "jobs.json"))).toBe(false);
  });

  it("an invalid id or none is a usage error, exit 2", () => {
    const home = makeHome();
    expect(cron(home, ["add", "no spaces", "--schedule", "every 1h", "--message", "x"])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("The job id"),
    });
    expect(cron(home, ["add", "--schedule", "every 1h", "--message", "x"])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("needs a job id"),
    });
  });
});

describe("cron rm, pause, resume", () => {
  it("change cron/jobs.json jobs only", () => {
    const home = makeHome({
      jobs: jobsFile([
        { id: "feeds", schedule: "every 30m", message: "check" },
        { id: "news", schedule: "0 7 * * *", timezone: "Europe/Paris", message: "news" },
      ]),
    });
    expect(cron(home, ["pause", "news"])).toMatchObject({
      code: 0,
      stdout: expect.stringContaining("paused news"),
    });
    expect(readJobs(home).map((j) => j.enabled)).toEqual([true, false]);
    expect(cron(home, ["pause", "news"])).toMatchObject({ code: 0, stdout: "news is already paused\n" });
    expect(cron(home, ["list"]).stdout).toMatch(/^news \(paused\)/m);
    const resumed = cron(home, ["resume", "news"]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/^resumed news: next run: \d{4}-\d\d-\d\d 07:00 \(Europe\/Paris\)$/m);
    expect(readJobs(home).map((j) => j.enabled)).toEqual([true, true]);
    expect(cron(home, ["rm", "feeds"])).toMatchObject({
      code: 0,
      stdout: expect.stringContaining("removed feeds"),
    });
    expect(readJobs(home).map((j) => j.id)).toEqual(["news"]);
    // The other job is kept as it was.
    expect(readJobs(home)[0]).toMatchObject({ timezone: "Europe/Paris", timeout: "10m" });
  });

  it.each([
    ["rm", "delete it there"],
    ["pause", "set enabled: false there"],
    ["resume", "set enabled: true there"],
  ])("%s refuses a job of config.yaml, pointing at its line", (verb, advice) => {
    const home = makeHome({ config: CONFIG });
    const run = cron(home, [verb, "newyear"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${join(home, "config.yaml")} line 7 (cron.jobs[1])`);
    expect(run.stderr).toContain(advice);
    expect(existsSync(join(home, "cron", "jobs.json"))).toBe(false);
  });

  it("an unknown id is refused with a suggestion, exit 1", () => {
    const home = makeHome({
      config: CONFIG,
      jobs: jobsFile([{ id: "feeds", schedule: "every 30m", message: "x" }]),
    });
    for (const verb of ["rm", "pause", "resume"]) {
      const run = cron(home, [verb, "feds"]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('There is no job "feds"; did you mean "feeds"?');
    }
    expect(cron(home, ["rm", "zzz"]).stderr).toContain("Jobs: backup, newyear, feeds.");
  });

  it("rm refuses a corrupt cron/jobs.json and keeps it", () => {
    const corrupt = "not json at all\n";
    const home = makeHome({ jobs: corrupt });
    const run = cron(home, ["rm", "feeds"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(join(home, "cron", "jobs.json"));
    expect(readFileSync(join(home, "cron", "jobs.json"), "utf8")).toBe(corrupt);
  });
});

describe("cron run, with no scheduler alive", () => {
  it("runs a command job here, prints its output, and says nothing was delivered", () => {
    const home = makeHome({
      config: `cron:\n  jobs:\n    - id: hello\n      schedule: "0 3 * * *"\n      command: ["/bin/sh", "-c", "pwd; echo hello"]\n      deliver: [webhook]\n`,
    });
    const run = cron(home, ["run", "hello"]);
    expect(run.code).toBe(0);
    // The working directory is HERMES_HOME, as for the command agent.
    expect(run.stdout).toMatch(/^job hello: ok in \d+\.\d\d s\n/);
    expect(run.stdout).toContain(`${home}\nhello\n`);
    expect(run.stderr).toContain("Nothing was delivered to webhook: no scheduler is alive");
  });

  it("--json prints the contract's result; a failing job exits 1", () => {
    const home = makeHome({
      jobs: jobsFile([{ id: "fails", schedule: "every 1h", command: "echo oops >&2; exit 4" }]),
    });
    const run = cron(home, ["run", "fails", "--json"]);
    expect(run.code).toBe(1);
    const result = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(Object.keys(result)).toEqual(["id", "status", "output", "error", "delivery", "duration_ms"]);
    expect(result).toMatchObject({
      id: "fails",
      status: "error",
      error: "exit code 4: oops",
      delivery: "none",
    });
  });

  it("a job that outlives its timeout ends as timeout, exit 1", () => {
    const home = makeHome({
      jobs: jobsFile([{ id: "slow", schedule: "every 1h", command: ["sleep", "10"], timeout: "1s" }]),
    });
    const run = cron(home, ["run", "slow", "--json"]);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: "timeout", error: "timed out after 1 s" });
  });

  it("a message job prints its text; an unknown job is refused with a suggestion", () => {
    const home = makeHome({ config: CONFIG });
    expect(cron(home, ["run", "newyear"])).toMatchObject({
      code: 0,
      stdout: expect.stringContaining("Happy new year\n"),
    });
    const unknown = cron(home, ["run", "newyaer"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('did you mean "newyear"?');
  });
});

describe("cron status, with no scheduler alive", () => {
  it("says so in one loud line, exit 3, with --json too", () => {
    const home = makeHome({ config: CONFIG });
    const run = cron(home, ["status"]);
    expect(run.code).toBe(3);
    expect(run.stdout.trim().split("\n")).toHaveLength(1);
    expect(run.stdout).toContain(`Not running: no scheduler is alive for ${home}; its 2 jobs do not fire`);
    const json = cron(home, ["status", "--json"]);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toEqual({
      alive: false,
      holder: null,
      last_tick_at: null,
      jobs: 2,
      next_run_at: expect.any(String),
    });
    expect(json.stderr).toContain("Not running");
  });

  it("names the last holder from the lock file when its process is gone", () => {
    const home = makeHome();
    const dead = { pid: 2 ** 22 + 12345, kind: "cron-serve", since: "2026-11-30T10:00:00.000Z" };
    writeFile(home, "run/cron.lock", JSON.stringify(dead));
    const json = cron(home, ["status", "--json"]);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout).holder).toEqual(dead);
    expect(cron(home, ["list"]).stderr).toContain(
      `the last one was hermes cron serve (pid ${dead.pid}), which is gone`,
    );
  });

  it("a holder that lives but answers on no socket is not called alive, exit 1", () => {
    const home = makeHome();
    // This test process stands in for a hung scheduler: alive, holding the lock, answering nothing.
    writeFile(
      home,
      "run/cron.lock",
      JSON.stringify({ pid: process.pid, kind: "gateway", since: new Date().toISOString() }),
    );
    const run = cron(home, ["status"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`the gateway (pid ${process.pid}) holds the scheduler lock`);
    expect(run.stdout).toContain("answers on no control socket");
  });
});

describe("through a running scheduler (a fake control socket)", () => {
  const env = () => cleanEnv();
  const since = "2026-12-01T08:00:00.000Z";

  it("cron list shows the scheduler's live view, keeping only the contract's keys", async () => {
    const home = makeHome({ config: CONFIG });
    const live = [
      listEntry({ id: "backup", last_error: "boom", last_status: "error", extra: "dropped" }),
      listEntry({ id: "from-scheduler", source: "cli", enabled: false, next_run_at: null }),
    ];
    await fakeScheduler(home, {
      view: { holder: { pid: 4242, kind: "gateway", since }, alive: true, last_tick_at: since, jobs: live },
    });
    const json = await hermesAsync(["cron", "list", "--json", "--home", home], { env: env() });
    expect(json.code).toBe(0);
    const { jobs } = JSON.parse(json.stdout) as { jobs: Record<string, unknown>[] };
    expect(jobs.map((j) => j.id)).toEqual(["backup", "from-scheduler"]);
    expect(jobs.map((j) => Object.keys(j))).toEqual([LIST_KEYS, LIST_KEYS]);
    expect(jobs[0]).toMatchObject({ last_error: "boom", next_run_at: "2099-01-02T02:00:00.000Z" });
    expect(json.stderr).toBe("");
    const human = await hermesAsync(["cron", "list", "--home", home], { env: env() });
    expect(human.stdout).toMatch(
      /^backup +0 3 \* \* \* +2099-01-02 03:00 Europe\/Berlin +2099-01-01 03:00 +error +boom/m,
    );
    expect(human.stdout).toMatch(/^from-scheduler \(paused\) .* cli$/m);
    expect(human.stderr).not.toContain("No scheduler");
  });

  it("cron status names the holder and its last tick, exit 0", async () => {
    const home = makeHome();
    const tick = new Date(Date.now() - 400).toISOString();
    await fakeScheduler(home, {
      name: "cron.sock",
      view: {
        holder: { pid: 4242, kind: "cron-serve", since },
        alive: true,
        last_tick_at: tick,
        jobs: [
          listEntry({ id: "late", next_run_at: "2099-03-01T00:00:00.000Z" }),
          listEntry({ id: "soon", next_run_at: "2099-02-01T00:00:00.000Z", timezone: "UTC" }),
          listEntry({ id: "off", enabled: false, next_run_at: null }),
        ],
      },
    });
    const run = await hermesAsync(["cron", "status", "--home", home], { env: env() });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("alive: hermes cron serve (pid 4242) holds the scheduler lock since ");
    expect(run.stdout).toMatch(/last tick: .* \(\d+\.\d s ago\)/);
    expect(run.stdout).toContain("jobs: 3 (1 paused)");
    expect(run.stdout).toContain("next run: soon at 2099-02-01 00:00 UTC");
    const json = await hermesAsync(["cron", "status", "--json", "--home", home], { env: env() });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      alive: true,
      holder: { pid: 4242, kind: "cron-serve", since },
      last_tick_at: tick,
      jobs: 3,
      next_run_at: "2099-02-01T00:00:00.000Z",
    });
  });

  it("asks the candidate that fires, not a standby", async () => {
    const home = makeHome();
    const holder = { pid: 4242, kind: "cron-serve" as const, since };
    await fakeScheduler(home, {
      name: "gateway.sock",
      view: { holder, alive: false, last_tick_at: null, jobs: [listEntry({ id: "standby-view" })] },
      run: () => ({
        status: 503,
        body: { error: "this process is not the scheduler; the holder is pid 4242" },
      }),
    });
    const firing = await fakeScheduler(home, {
      name: "cron.sock",
      view: { holder, alive: true, last_tick_at: since, jobs: [listEntry({ id: "live-view" })] },
      run: (id) => ({
        status: 200,
        body: { id, status: "ok", output: "done", error: null, delivery: "pending", duration_ms: 12 },
      }),
    });
    const list = await hermesAsync(["cron", "list", "--json", "--home", home], { env: env() });
    expect(JSON.parse(list.stdout).jobs.map((j: { id: string }) => j.id)).toEqual(["live-view"]);
    const run = await hermesAsync(["cron", "run", "live-view", "--home", home], { env: env() });
    expect(run.code).toBe(0);
    expect(firing.runs).toEqual([{ id: "live-view" }]);
  });

  it("cron run goes through the scheduler and exits by the result", async () => {
    const home = makeHome({ config: CONFIG });
    const results: Record<string, { status: number; body: unknown }> = {
      backup: {
        status: 200,
        body: {
          id: "backup",
          status: "ok",
          output: "backed up",
          error: null,
          delivery: "pending",
          duration_ms: 1520,
        },
      },
      newyear: {
        status: 200,
        body: {
          id: "newyear",
          status: "timeout",
          output: "",
          error: "timed out after 600 s",
          delivery: "failed",
          duration_ms: 600_000,
        },
      },
      busy: { status: 409, body: { error: "job busy is running" } },
    };
    const fake = await fakeScheduler(home, {
      view: { holder: { pid: 4242, kind: "gateway", since }, alive: true, last_tick_at: since, jobs: [] },
      run: (id) => results[id] ?? { status: 404, body: { error: `no job "${id}"` } },
    });
    const ok = await hermesAsync(["cron", "run", "backup", "--home", home], { env: env() });
    expect(ok).toMatchObject({ code: 0, stdout: "job backup: ok in 1.52 s; delivery: pending\nbacked up\n" });
    expect(ok.stderr).toBe("");
    const json = await hermesAsync(["cron", "run", "backup", "--json", "--home", home], { env: env() });
    expect(JSON.parse(json.stdout)).toEqual(results.backup!.body);
    const timeout = await hermesAsync(["cron", "run", "newyear", "--home", home], { env: env() });
    expect(timeout.code).toBe(1);
    expect(timeout.stderr).toContain("job newyear: timeout after 600.00 s: timed out after 600 s");
    expect(timeout.stderr).toContain("hermes outbox list --dead");
    const busy = await hermesAsync(["cron", "run", "busy", "--home", home], { env: env() });
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain("running right now");
    const unknown = await hermesAsync(["cron", "run", "backpu", "--home", home], { env: env() });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('did you mean "backup"?');
    expect(fake.runs).toEqual([
      { id: "backup" },
      { id: "backup" },
      { id: "newyear" },
      { id: "busy" },
      { id: "backpu" },
    ]);
  });

  it("cron add says nothing about a missing scheduler when one is alive", async () => {
    const home = makeHome();
    await fakeScheduler(home, {
      view: { holder: { pid: 4242, kind: "gateway", since }, alive: true, last_tick_at: since, jobs: [] },
    });
    const run = await hermesAsync(
      ["cron", "add", "j", "--schedule", "every 1h", "--message", "x", "--home", home],
      {
        env: env(),
      },
    );
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
  });
});
