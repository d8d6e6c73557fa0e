import { describe, expect, it } from "vitest";
import { Environment } from "./env.ts";
import { interpolate } from "./interpolate.ts";

const env = new Environment({ SET: "value", EMPTY: "" });

describe("interpolate", () => {
  it.each([
    ["${SET}", "value"],
    ["pre-${SET}-post", "pre-value-post"],
    ["${UNSET:-fallback}", "fallback"],
    ["${EMPTY:-fallback}", "fallback"],
    ["${EMPTY-fallback}", ""],
    ["${UNSET-fallback}", "fallback"],
    ["${SET:-fallback}", "value"],
    ["$$SET", "$SET"],
    ["$${SET}", "${SET}"],
    ["$SET", "$SET"],
    ["cost: 5$", "cost: 5$"],
    ["no references", "no references"],
  ])("%s → %s", (text, expected) => {
    expect(interpolate(text, env).value).toBe(expected);
  });

  it("records each reference and whether it was set", () => {
    const result = interpolate("${SET}/${UNSET}/${EMPTY}", env);
    expect(result.value).toBe("value//");
    expect(result.refs.map((r) => [r.name, r.set])).toEqual([
      ["SET", true],
      ["UNSET", false],
      ["EMPTY", true],
    ]);
  });

  it("carries the message of a required reference", () => {
    const [ref] = interpolate("${TOKEN:?set TOKEN in .env}", env).refs;
    expect(ref).toMatchObject({ name: "TOKEN", operator: ":?", set: false, message: "set TOKEN in .env" });
    expect(interpolate("${EMPTY:?required}", env).refs[0]?.set).toBe(false);
    expect(interpolate("${EMPTY?required}", env).refs[0]?.set).toBe(true);
  });

  it("reports malformed references and leaves them as written", () => {
    expect(interpolate("${unterminated", env)).toMatchObject({
      value: "${unterminated",
      problems: ["unterminated ${ in value"],
    });
    expect(interpolate("${1BAD}", env).problems).toHaveLength(1);
    expect(interpolate("${SET:+alt}", env).problems).toEqual([
      "unsupported operator in ${SET…}; use :- or :?",
    ]);
  });

  it(".env wins over the process environment", () => {
    const both = new Environment(
      { A: "process" },
      {
        path: "/h/.env",
        file: { entries: [{ key: "A", value: "dotenv", line: 3, quoted: false }], problems: [] },
      },
    );
    expect(interpolate("${A}", both).value).toBe("dotenv");
    expect(both.get("A")).toMatchObject({ origin: "dotenv", line: 3 });
  });
});
