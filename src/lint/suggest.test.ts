import { describe, expect, it } from "vitest";
import { damerauLevenshtein, suggest } from "./suggest.ts";

describe("suggest", () => {
  it.each([
    ["tokn", ["token", "enabled"], "token"],
    ["discrod", ["discord", "slack"], "discord"],
    ["allowedUsers", ["allowed_users", "admins"], "allowed_users"],
    ["Require-Mention", ["require_mention"], "require_mention"],
    ["xyz", ["token", "enabled"], undefined],
    ["a", ["b"], undefined],
  ])("%s → %s", (input, candidates, expected) => {
    expect(suggest(input, candidates)).toBe(expected);
  });

  it("counts an adjacent swap as one edit", () => {
    expect(damerauLevenshtein("ab", "ba")).toBe(1);
    expect(damerauLevenshtein("kitten", "sitting")).toBe(3);
  });
});
