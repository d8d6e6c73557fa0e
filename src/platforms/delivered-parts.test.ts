import { describe, expect, it } from "vitest";
import { DeliveredParts, remember } from "./delivered-parts.ts";

describe("DeliveredParts", () => {
  it("a retry resumes at the first part not delivered, and a message sent in full starts over", async () => {
    const parts = new DeliveredParts();
    const sent: string[] = [];
    let failAt = 2;
    const sendPart = async (part: string, index: number) => {
      if (index === failAt) throw new Error("down");
      sent.push(part);
    };
    await expect(parts.send("m1", ["a", "b", "c"], sendPart)).rejects.toThrow("down");
    failAt = -1;
    await parts.send("m1", ["a", "b", "c"], sendPart);
    expect(sent).toEqual(["a", "b", "c"]);
    await parts.send("m1", ["a", "b", "c"], sendPart);
    expect(sent).toEqual(["a", "b", "c", "a", "b", "c"]);
  });
});

describe("remember", () => {
  it("drops the oldest entry once the map holds `limit`", () => {
    const map = new Map<string, number>();
    for (const [i, key] of ["a", "b", "c"].entries()) remember(map, key, i, 2);
    expect([...map.keys()]).toEqual(["b", "c"]);
  });
});
