import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** Tests of the compiled binary need dist/hermes; `npm test` builds it, a bare `vitest` run builds it here. */
export default function setup(): void {
  const root = join(import.meta.dirname, "..");
  if (existsSync(join(root, "dist", "hermes")) && existsSync(join(root, "dist", "hermes.mjs"))) return;
  const result = spawnSync(process.execPath, [join(root, "scripts", "build.mjs")], {
    cwd: root,
    stdio: "inherit",
  });
  if (result.status !== 0) throw new Error("building dist/hermes failed");
}
