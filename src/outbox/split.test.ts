import { describe, expect, it } from "vitest";
import { splitText } from "./split.ts";

describe("splitText", () => {
  it("leaves short text alone", () => {
    expect(splitText("hello", 10)).toEqual(["hello"]);
    expect(splitText("", 10)).toEqual([""]);
  });

  it("prefers paragraphs, then lines, then sentences, then spaces", () => {
    expect(splitText("first paragraph here.\n\nsecond one", 30)).toEqual([
      "first paragraph here.",
      "second one",
    ]);
    expect(splitText("line one is here\nline two", 20)).toEqual(["line one is here", "line two"]);
    expect(splitText("One sentence here. Another one follows.", 25)).toEqual([
      "One sentence here.",
      "Another one follows.",
    ]);
    expect(splitText("words words words words", 12)).toEqual(["words words", "words words"]);
  });

  it("cuts hard when there is no boundary, never inside a surrogate pair", () => {
    expect(splitText("abcdefghij", 4)).toEqual(["abcd", "efgh", "ij"]);
    const emoji = "😀".repeat(5);
    const parts = splitText(emoji, 2);
    expect(parts).toEqual(["😀😀", "😀😀", "😀"]);
  });

  it("every part fits, and nothing but whitespace at the cuts is lost", () => {
    const text = Array.from(
      { length: 200 },
      (_, i) => `Sentence number ${i} is here.${i % 7 === 0 ? "\n\n" : " "}`,
    ).join("");
    const parts = splitText(text, 4096 / 16);
    for (const p of parts) expect([...p].length).toBeLessThanOrEqual(256);
    expect(parts.join(" ").replace(/\s+/g, " ").trim()).toBe(text.replace(/\s+/g, " ").trim());
  });
});
