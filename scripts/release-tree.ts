/**
 * The release layout of SPEC §9, written from binaries already built: `latest.txt`, `<version>/hermes-<target>.gz`,
 * `<version>/SHA256SUMS` over the `.gz` files, and `install.sh` with the base URL baked in. `npm run release`
 * uses it for the real artifacts, and the tests use it for the tree they serve, so both have one layout.
 */
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

/** Every target a release builds: `hermes-<os>-<arch>[-baseline][-musl]`. */
export const TARGETS = [
  "linux-x64",
  "linux-x64-baseline",
  "linux-arm64",
  "linux-x64-musl",
  "linux-x64-baseline-musl",
  "linux-arm64-musl",
  "darwin-x64",
  "darwin-arm64",
] as const;
export type Target = (typeof TARGETS)[number];

const ROOT = join(import.meta.dirname, "..");
export const INSTALLER_SOURCE = join(ROOT, "install", "install.sh");

/** The line of install.sh that `bakeInstaller` rewrites. */
const BAKED_LINE = /^HERMES_RELEASE_BASE_URL=.*$/m;

/** install.sh with `baseUrl` as its default release site. */
export function bakeInstaller(source: string, baseUrl: string): string {
  // The URL lands inside single quotes in shell code: only characters that cannot end or escape them.
  if (!/^https?:\/\/[A-Za-z0-9._~:/?#[\]@!$&()*+,;=%-]+$/.test(baseUrl) || baseUrl.includes("'"))
    throw new Error(`--base-url ${JSON.stringify(baseUrl)} is not an http(s) URL this installer can carry`);
  if (!BAKED_LINE.test(source)) throw new Error(`${INSTALLER_SOURCE} has no HERMES_RELEASE_BASE_URL= line`);
  return source.replace(BAKED_LINE, `HERMES_RELEASE_BASE_URL='${baseUrl.replace(/\/+$/, "")}'`);
}

export const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

export interface Artifact {
  target: string;
  /** The `.gz` file, and the sizes of the binary and of the `.gz`. */
  path: string;
  rawBytes: number;
  gzBytes: number;
  sha256: string;
}

export interface VersionOptions {
  /** The release tree's root (`dist/release`). */
  out: string;
  version: string;
  /** target → the built binary. */
  binaries: Record<string, string>;
  /** gzip level: 9 for a release; tests use 1, which only changes how long compressing takes. */
  level?: number;
}

/** Writes `<out>/<version>/hermes-<target>.gz` for each binary and their `SHA256SUMS`. */
export function writeVersion(options: VersionOptions): Artifact[] {
  const dir = join(options.out, options.version);
  mkdirSync(dir, { recursive: true });
  const artifacts: Artifact[] = [];
  for (const [target, binary] of Object.entries(options.binaries).sort(([a], [b]) => a.localeCompare(b))) {
    const raw = readFileSync(binary);
    const gz = gzipSync(raw, { level: options.level ?? 9 });
    const path = join(dir, `hermes-${target}.gz`);
    writeFileSync(path, gz);
    artifacts.push({ target, path, rawBytes: raw.length, gzBytes: gz.length, sha256: sha256(gz) });
  }
  writeFileSync(
    join(dir, "SHA256SUMS"),
    artifacts.map((a) => `${a.sha256}  hermes-${a.target}.gz\n`).join(""),
  );
  return artifacts;
}

/** Writes `<out>/latest.txt` and `<out>/install.sh` (baked with `baseUrl`, or unbaked when none is given). */
export function writeTop(options: { out: string; latest: string; baseUrl: string | undefined }): void {
  mkdirSync(options.out, { recursive: true });
  writeFileSync(join(options.out, "latest.txt"), `${options.latest}\n`);
  const source = readFileSync(INSTALLER_SOURCE, "utf8");
  const installer = join(options.out, "install.sh");
  writeFileSync(installer, options.baseUrl ? bakeInstaller(source, options.baseUrl) : source);
  chmodSync(installer, 0o755);
}
