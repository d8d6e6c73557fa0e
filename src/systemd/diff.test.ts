import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { unifiedDiff } from "./diff.ts";

/** Applies a unified diff to `before` (hunks in order, context checked), as patch(1) would. */
function apply(before: string, diff: string): string {
  const old = before.split("\n");
  if (old.at(-1) === "") old.pop();
  const result: string[] = [];
  let at = 0;
  const lines = diff.split("\n").slice(2);
  if (lines.at(-1) === "") lines.pop();
  for (const line of lines) {
    const header = /^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@$/.exec(line);
    if (header) {
      const start = Number(header[1]) - (header[2] === "0" ? 0 : 1);
      while (at < start) result.push(old[at++]!);
      continue;
    }
    const kind = line[0];
    const text = line.slice(1);
    if (kind === "+") result.push(text);
    else {
      if (old[at] !== text) throw new Error(`context mismatch at line ${at + 1}: ${JSON.stringify(text)}`);
      if (kind === " ") result.push(text);
      at++;
    }
  }
  while (at < old.length) result.push(old[at++]!);
  return result.length > 0 ? `${result.join("\n")}\n` : "";
}

describe("unifiedDiff", () => {
  it("is empty for equal texts", () => {
    expect(unifiedDiff("a\nb\n", "a\nb\n", { from: "x", to: "y" })).toBe("");
  });

  it("shows a changed line with three lines of context, removal first", () => {
    const before = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
    const after = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
    expect(unifiedDiff(before, after, { from: "old", to: "new" })).toBe(
      "--- old\n+++ new\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n",
    );
  });

  it("splits far-apart changes into hunks and joins near ones", () => {
    const lines = Array.from({ length: 30 }, (_, i) => `l${i}`);
    const far = [...lines];
    far[2] = "x";
    far[25] = "y";
    expect(unifiedDiff(`${lines.join("\n")}\n`, `${far.join("\n")}\n`, { from: "a", to: "b" })).toMatch(
      /^--- a\n\+\+\+ b\n@@ -1,6 \+1,6 @@\n(.*\n){7}@@ -23,7 \+23,7 @@\n/,
    );
    // Six unchanged lines between two changes still make one hunk (as diff -u), seven make two.
    const hunks = (gap: number) => {
      const changed = [...lines];
      changed[2] = "x";
      changed[3 + gap] = "y";
      const diff = unifiedDiff(`${lines.join("\n")}\n`, `${changed.join("\n")}\n`, { from: "a", to: "b" });
      return diff.match(/^@@/gm)?.length;
    };
    expect(hunks(6)).toBe(1);
    expect(hunks(7)).toBe(2);
  });

  it("round-trips: applying the diff to the old text gives the new one", () => {
    const text = fc
      .array(fc.constantFrom("a", "b", "c", "d", "[Service]", ""), { maxLength: 40 })
      .map((ls) => (ls.length > 0 ? `${ls.join("\n")}\n` : ""));
    fc.assert(
      fc.property(text, text, (before, after) => {
        const diff = unifiedDiff(before, after, { from: "a", to: "b" });
        expect(diff === "" ? before : apply(before, diff)).toBe(after);
      }),
      { numRuns: 500 },
    );
  });
});
