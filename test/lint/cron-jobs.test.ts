/** The job rules cover cron/jobs.json too, pointing into that file; `--explain` previews the next runs. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hermes, ROOT } from "../helpers/cli.ts";
import { makeHome } from "../helpers/home.ts";
import { lintHome } from "../helpers/lint.ts";

const JOBS = `{
  "version": 1,
  "jobs": [
    { "id": "fine", "schedule": "every 1h", "message": "x" },
    {
      "id": "report",
      "schedule": "0 25 * * *",
      "timezone": "Europe/Frankfurt",
      "message": "y",
      "deliver": ["telegarm"]
    }
  ]
}
`;

describe("jobs of cron/jobs.json", () => {
  it("are checked like config.yaml's, at their line in that file", () => {
    const home = makeHome({ jobs: JOBS });
    const found = lintHome(home).filter((d) => d.file?.endsWith("jobs.json"));
    const file = join(home, "cron", "jobs.json");
    expect(found.map((d) => [d.rule, d.file, d.path, d.line])).toEqual([
      ["invalid-cron", file, "jobs[1].schedule", 7],
      ["timezone-invalid", file, "jobs[1].timezone", 8],
      ["target-unknown", file, "jobs[1].deliver[0]", 10],
    ]);
    expect(found[0]!.message).toBe(
      'job "report" (cron/jobs.json): schedule "0 25 * * *" cannot be used: Invalid value for hour: 25',
    );
  });

  it("share their ids with config.yaml's: a job id in both is a duplicate", () => {
    const home = makeHome({
      config: 'cron:\n  jobs:\n    - id: fine\n      schedule: "0 3 * * *"\n      message: z\n',
      jobs: JOBS,
    });
    const duplicate = lintHome(home).find((d) => d.rule === "duplicate-key");
    expect(duplicate).toMatchObject({
      file: join(home, "cron", "jobs.json"),
      line: 4,
      message: 'job id "fine" is used twice (cron.jobs[0] and jobs[0] in cron/jobs.json)',
    });
  });

  it("a corrupt file is one error naming it and the entry at fault, and the linter leaves it where it is", () => {
    const text = JOBS.replace('"message": "y"', '"message": "y", "catchup": "never"');
    const home = makeHome({ jobs: text });
    const found = lintHome(home).filter((d) => d.rule === "jobs-file-invalid");
    expect(found).toEqual([
      expect.objectContaining({
        severity: "error",
        file: join(home, "cron", "jobs.json"),
        path: "jobs[1].catchup",
        line: 9,
        message: "cron/jobs.json is not a valid jobs file: jobs[1].catchup: one of skip, once, all",
      }),
    ]);
    expect(readdirSync(join(home, "cron"))).toEqual(["jobs.json"]);
    expect(readFileSync(join(home, "cron", "jobs.json"), "utf8")).toBe(text);
  });

  it("are reported even when config.yaml does not parse", () => {
    const home = makeHome({ config: "cron: [\n", jobs: "[" });
    expect(lintHome(home).map((d) => d.rule)).toEqual(
      expect.arrayContaining(["yaml-syntax", "jobs-file-invalid"]),
    );
  });

  it("make lint config name cron/jobs.json among the files it checked", () => {
    const home = makeHome({ jobs: JOBS });
    const run = hermes(["lint", "config", "--home", home]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`${join(home, "cron", "jobs.json")}:7:`);
    expect(run.stdout.trimEnd().split("\n").at(-1)).toContain(join(home, "cron", "jobs.json"));
  });
});

describe("--explain invalid-cron and timezone-invalid", () => {
  it("print the page, then every job with its next runs in its zone, or why it has none", () => {
    const home = makeHome({
      config:
        'cron:\n  jobs:\n    - id: backup\n      schedule: "0 3 * * *"\n      timezone: Europe/Berlin\n      message: z\n',
      jobs: JOBS,
    });
    for (const rule of ["invalid-cron", "timezone-invalid"]) {
      const run = hermes(["lint", "config", "--home", home, "--explain", rule]);
      expect(run.code).toBe(0);
      const page = readFileSync(join(ROOT, "lint", "rules", `${rule}.md`), "utf8");
      expect(run.stdout.startsWith(page)).toBe(true);
      const preview = run.stdout.slice(page.length);
      expect(preview).toContain(`## Your jobs (${join(home, "config.yaml")})`);
      expect(preview).toMatch(
        /- `backup` \(config\.yaml\): "0 3 \* \* \*" in Europe\/Berlin\n {2}next 3 runs: (\d{4}-\d\d-\d\d 03:00(, )?){3} \(Europe\/Berlin\)/,
      );
      expect(preview).toMatch(/- `fine` \(cron\/jobs\.json\): "every 1h"\n {2}next 3 runs: /);
      expect(preview).toContain(
        '- `report` (cron/jobs.json): "0 25 * * *" in Europe/Frankfurt\n  cannot run: ',
      );
    }
  });

  it("other rules' pages are printed alone", () => {
    const home = makeHome({ jobs: JOBS });
    const run = hermes(["lint", "config", "--home", home, "--explain", "target-unknown"]);
    expect(run.stdout).toBe(readFileSync(join(ROOT, "lint", "rules", "target-unknown.md"), "utf8"));
  });
});
