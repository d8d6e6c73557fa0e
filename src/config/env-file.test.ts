import { describe, expect, it } from "vitest";
import { envRecord, parseEnvFile } from "./env-file.ts";

const parse = (text: string) => envRecord(parseEnvFile(text));

describe("parseEnvFile", () => {
  it("reads plain assignments, export prefixes and comments", () => {
    expect(parse("# comment\nA=1\nexport B=two words\n  C = 3  \n\n#D=4\n")).toEqual({
      A: "1",
      B: "two words",
      C: "3",
    });
  });

  it("strips an inline comment only after whitespace", () => {
    expect(parse("A=value # note\nB=pass#word\n")).toEqual({ A: "value", B: "pass#word" });
  });

  it("keeps quoted values literally, with escapes only in double quotes", () => {
    expect(
      parse(`A='single # not a comment'\nB="line\\nbreak \\"q\\""\nC='no\\nescape'\nD=\`tick\`\n`),
    ).toEqual({
      A: "single # not a comment",
      B: 'line\nbreak "q"',
      C: "no\\nescape",
      D: "tick",
    });
  });

  it("reads multi-line quoted values and keeps their line number", () => {
    const file = parseEnvFile('KEY="-----BEGIN\nabc\n-----END"\nNEXT=1\n');
    expect(file.entries).toEqual([
      { key: "KEY", value: "-----BEGIN\nabc\n-----END", line: 1, quoted: true },
      { key: "NEXT", value: "1", line: 4, quoted: false },
    ]);
  });

  it("handles CRLF line ends and a byte-order mark", () => {
    expect(parse("\uFEFFA=1\r\nB='2'\r\n")).toEqual({ A: "1", B: "2" });
  });

  it("never interpolates", () => {
    expect(parse("A=1\nB=${A}\nC=$A\n")).toEqual({ A: "1", B: "${A}", C: "$A" });
  });

  it("lets the last assignment win", () => {
    expect(parse("A=1\nA=2\n")).toEqual({ A: "2" });
  });

  it("keeps an unclosed quote visible instead of swallowing the file", () => {
    expect(parse('TOKEN="abc\nNEXT=1\n')).toEqual({ TOKEN: '"abc', NEXT: "1" });
  });

  it("reports lines it cannot use, without their values", () => {
    const file = parseEnvFile("GOOD=1\nnot an assignment\n1BAD=secretvalue\n");
    expect(file.problems.map((p) => p.line)).toEqual([2, 3]);
    expect(JSON.stringify(file.problems)).not.toContain("secretvalue");
    expect(envRecord(file)).toEqual({ GOOD: "1" });
  });

  it("accepts an empty value", () => {
    expect(parse("A=\nB=''\n")).toEqual({ A: "", B: "" });
  });
});
