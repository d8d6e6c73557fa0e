import { mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { homeFault } from "./home-fault.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function home(): string {
  const dir = mkdtempSync(join(tmpdir(), "hermes-home-fault-"));
  dirs.push(dir);
  return dir;
}
function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

it("names the file that stands where a directory must be, however deep the failing path", () => {
  const h = home();
  writeFileSync(join(h, "state"), "x");
  const onIt = thrown(() => mkdirSync(join(h, "state"), { recursive: true }));
  const below = thrown(() => openSync(join(h, "state", "inbound.journal"), "a"));
  for (const error of [onIt, below])
    expect(homeFault(error)).toBe(
      `${join(h, "state")} is not a directory, and hermes keeps a directory there`,
    );
});

it("names a directory that stands where a file must be", () => {
  const h = home();
  mkdirSync(join(h, "journal.log"));
  expect(homeFault(thrown(() => openSync(join(h, "journal.log"), "a")))).toBe(
    `${join(h, "journal.log")} is a directory, and hermes keeps a file there`,
  );
});

it("says read-only, full and forbidden in words, with the path", () => {
  const error = (code: string) =>
    Object.assign(new Error(`${code}: …`), { code, path: "/srv/bot/run/gateway.lock" });
  expect(homeFault(error("EROFS"))).toBe("/srv/bot/run/gateway.lock is on a read-only file system");
  expect(homeFault(error("ENOSPC"))).toBe("the file system holding /srv/bot/run/gateway.lock is full");
  expect(homeFault(error("EACCES"))).toMatch(
    /^\/srv\/bot\/run\/gateway\.lock cannot be written by uid \d+ \(permission denied\)$/,
  );
});

it("is undefined for errors that are not about a path in the home", () => {
  expect(homeFault(new TypeError("undefined is not an object"))).toBeUndefined();
  expect(homeFault(Object.assign(new Error("listen"), { code: "EADDRINUSE" }))).toBeUndefined();
  expect(homeFault("EISDIR")).toBeUndefined();
});
