/**
 * `npm run release` itself (scripts/release.ts), for the host target only (`--targets`): the layout of SPEC §9,
 * SHA256SUMS over the `.gz`, latest.txt, the base URL baked into install.sh and into the binary, and the smoke
 * run of the artifact. The full run over every target is what docs/install.md and docs/performance.md report.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.ts";
import { tempDir } from "../helpers/home.ts";

const BUN = join(ROOT, "node_modules", ".bin", "bun");
const VERSION = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version as string;
const release = (args: string[]) =>
  spawnSync(BUN, [join(ROOT, "scripts", "release.ts"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 180_000,
  });

describe("npm run release", () => {
  it("writes the SPEC §9 tree for the host target, with the base URL baked in, and smoke-runs the artifact", () => {
    const out = tempDir();
    // A port nothing listens on: the baked URL must show in what the binary tries to reach.
    const site = "http://127.0.0.1:9/hermes";
    const r = release(["--targets", "linux-x64", "--out", out, "--base-url", `${site}/`]);
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(out, { recursive: true, encoding: "utf8" }).sort()).toEqual([
      VERSION,
      `${VERSION}/SHA256SUMS`,
      `${VERSION}/hermes-linux-x64.gz`,
      "install.sh",
      "latest.txt",
    ]);
    expect(readFileSync(join(out, "latest.txt"), "utf8")).toBe(`${VERSION}\n`);
    const gz = readFileSync(join(out, VERSION, "hermes-linux-x64.gz"));
    const sum = createHash("sha256").update(gz).digest("hex");
    expect(readFileSync(join(out, VERSION, "SHA256SUMS"), "utf8")).toBe(`${sum}  hermes-linux-x64.gz\n`);
    expect(readFileSync(join(out, "install.sh"), "utf8")).toMatch(
      new RegExp(`^HERMES_RELEASE_BASE_URL='${site.replaceAll(".", "\\.")}'$`, "m"),
    );
    expect(r.stdout).toMatch(/^hermes-linux-x64\.gz\s+\d+\s+\d+\s+ok: "hermes \d+\.\d+\.\d+"$/m);

    const bin = join(tempDir(), "hermes");
    writeFileSync(bin, gunzipSync(gz), { mode: 0o755 });
    const check = spawnSync(bin, ["self-update", "--check"], {
      encoding: "utf8",
      env: { PATH: "/usr/bin:/bin", HOME: tempDir() },
    });
    expect(check.stderr).toContain(`Could not download ${site}/latest.txt: `);
    expect(check.status).toBe(1);
  }, 180_000);

  it("refuses a target that is not a release target", () => {
    const r = release(["--targets", "linux-x64,windows-x64", "--out", tempDir()]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      '--targets: "windows-x64" is not a release target (linux-x64, linux-x64-baseline, linux-arm64, linux-x64-musl, linux-x64-baseline-musl, linux-arm64-musl, darwin-x64, darwin-arm64)\n',
    );
  });
});
