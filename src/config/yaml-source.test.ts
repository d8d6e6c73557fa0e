import { describe, expect, it } from "vitest";
import { locate, MAX_NESTING, nestingDepth, parseYaml } from "./yaml-source.ts";

describe("nestingDepth", () => {
  it("counts flow and block nesting", () => {
    expect(nestingDepth("a: 1\n").depth).toBe(1);
    expect(nestingDepth("a:\n  b:\n    c: [1, [2]]\n").depth).toBe(5);
    // The top-level line itself is one level.
    expect(nestingDepth("[".repeat(200) + "]".repeat(200)).depth).toBe(201);
  });

  it("ignores brackets in quotes, comments and words", () => {
    expect(nestingDepth("a: '[[[['\nb: \"{{{{\"\n# [[[[[[\nc: don't [x]\n").depth).toBeLessThan(4);
  });
});

describe("parseYaml", () => {
  it("refuses nesting deep enough to exhaust the parser, without parsing it", () => {
    const source = parseYaml(`a: ${"[".repeat(5000)}${"]".repeat(5000)}`);
    expect(source.problems).toEqual([expect.objectContaining({ code: "TOO_DEEP", fatal: true })]);
    expect(MAX_NESTING).toBeLessThan(1000);
  });

  it("reports syntax errors with a position and without quoting the source", () => {
    const source = parseYaml("token: abcdefsecret\n  bad: [\n");
    expect(source.problems.length).toBeGreaterThan(0);
    for (const p of source.problems) {
      expect(p.position?.line).toBeGreaterThan(0);
      expect(p.message).not.toContain("abcdefsecret");
      expect(p.message).not.toContain("\n");
    }
  });

  it("reports duplicate keys as not fatal", () => {
    const source = parseYaml("a: 1\na: 2\n");
    expect(source.problems).toEqual([
      expect.objectContaining({ code: "DUPLICATE_KEY", fatal: false, position: { line: 2, column: 1 } }),
    ]);
  });
});

describe("locate", () => {
  const source = parseYaml(
    "platforms:\n  discord:\n    token: x\ncron:\n  jobs:\n    - id: a\n      schedule: '0 3 * * *'\n",
  );
  it("finds keys and values by path", () => {
    expect(locate(source, ["platforms", "discord"], "key")).toEqual({ line: 2, column: 3 });
    expect(locate(source, ["platforms", "discord", "token"], "value")).toEqual({ line: 3, column: 12 });
    expect(locate(source, ["cron", "jobs", 0, "schedule"], "value")).toEqual({ line: 7, column: 17 });
  });
  it("falls back to the deepest node that exists", () => {
    expect(locate(source, ["platforms", "discord", "absent"], "key")).toEqual({ line: 2, column: 3 });
  });
});
