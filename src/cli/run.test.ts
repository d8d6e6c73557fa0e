import { afterEach, describe, expect, it, vi } from "vitest";

vi.mock("../config/load.ts", async (original) => ({
  ...(await original<typeof import("../config/load.ts")>()),
  loadConfig: () => {
    throw new TypeError("boom in the loader");
  },
}));

const { run } = await import("./run.ts");

afterEach(() => vi.restoreAllMocks());

describe("run", () => {
  it("an unexpected error is exit 3 with one line, and the stack only at debug level", async () => {
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    expect(await run(["lint", "config"])).toBe(3);
    const said = stderr.mock.calls.map((c) => String(c[0])).join("");
    expect(said).toBe(
      "hermes: internal error: boom in the loader (run with --log-level debug for details)\n",
    );
    stderr.mockClear();
    expect(await run(["lint", "config", "--log-level", "debug"])).toBe(3);
    expect(stderr.mock.calls.map((c) => String(c[0])).join("")).toContain("at ");
  });
});
