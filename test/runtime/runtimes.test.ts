/**
 * The same source runs on Bun (the compiled binary), Node (the bundle) and Deno (`deno run` on the source):
 * each gives the same answers.
 */
import { describe, expect, it } from "vitest";
import { hermes, lintJson, type Runtime } from "../helpers/cli.ts";
import { makeHome } from "../helpers/home.ts";

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
