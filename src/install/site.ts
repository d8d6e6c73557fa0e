/**
 * The release site as install/install.sh reads it (SPEC §9): `$BASE/latest.txt`, `$BASE/<version>/SHA256SUMS`
 * and `$BASE/<version>/hermes-<target>.gz`, where BASE is HERMES_INSTALL_BASE_URL, else the URL baked into a
 * released binary. `self-update` follows the same rules as the installer: https only, http only on loopback;
 * the checksum of the `.gz` is checked before it is unpacked, and a mismatch fails closed.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { UsageError } from "../errors.ts";
import { outboundFetch } from "../runtime/fetch.ts";
import { RELEASE_BASE_URL } from "../version.ts";

/** A failure the user can act on (no such version, a bad download): one sentence, exit 1. */
export class ReleaseError extends Error {
  override name = "ReleaseError";
}

/** The release site: HERMES_INSTALL_BASE_URL, else the baked-in URL; undefined when there is neither. */
export function releaseBase(env: Record<string, string | undefined> = process.env): string | undefined {
  const fromEnv = env.HERMES_INSTALL_BASE_URL;
  const raw = fromEnv || RELEASE_BASE_URL;
  if (!raw) return undefined;
  const what = fromEnv ? "HERMES_INSTALL_BASE_URL" : "the release site built into hermes";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${what} ${raw} is not a URL`);
  }
  if (url.protocol === "http:" && !isLoopback(url.hostname))
    throw new UsageError(`${what} ${raw} is plain http on a host that is not loopback; use https://`);
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new UsageError(`${what} ${raw} is not an https:// URL`);
  return raw.replace(/\/+$/, "");
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** `v0.2.0` and `0.2.0` are one version. */
export function normalizeVersion(text: string, what: string): string {
  const v = text.trim().replace(/^v/, "");
  if (!/^[0-9A-Za-z.+-]+$/.test(v) || !/^\d/.test(v))
    throw new UsageError(`${what} "${text.trim()}" is not a hermes version (e.g. 0.1.0)`);
  return v;
}

/** Negative when a < b, by numeric dotted parts (a pre-release sorts before its release). */
export function compareVersions(a: string, b: string): number {
  const split = (v: string) => {
    const [core = "", pre] = v.split(/-(.*)/s, 2);
    return { parts: core.split(".").map((p) => Number.parseInt(p, 10) || 0), pre };
  };
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < Math.max(x.parts.length, y.parts.length); i++) {
    const d = (x.parts[i] ?? 0) - (y.parts[i] ?? 0);
    if (d !== 0) return d;
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre < y.pre ? -1 : 1;
}

/** HERMES_TARGET, else `<os>-<arch>[-baseline][-musl]` of this machine, as install.sh detects it. */
export function detectTarget(env: Record<string, string | undefined> = process.env): string {
  const forced = env.HERMES_TARGET;
  if (forced) {
    if (!/^[a-z0-9-]+$/.test(forced))
      throw new UsageError(`HERMES_TARGET "${forced}" is not a target name (e.g. linux-x64)`);
    return forced;
  }
  const os = process.platform;
  if (os !== "linux" && os !== "darwin")
    throw new ReleaseError(`There is no hermes build for ${os} (Linux and macOS only).`);
  const arch = process.arch;
  if (arch !== "x64" && arch !== "arm64")
    throw new ReleaseError(`There is no hermes build for the ${arch} processor (x64 and arm64 only).`);
  let target = `${os}-${arch}`;
  if (os === "linux") {
    if (arch === "x64" && lacksAvx2()) target += "-baseline";
    if (isMusl()) target += "-musl";
  }
  return target;
}

function lacksAvx2(): boolean {
  try {
    return !/\bavx2\b/.test(readFileSync("/proc/cpuinfo", "utf8"));
  } catch {
    return false;
  }
}

function isMusl(): boolean {
  if (existsSync("/etc/alpine-release")) return true;
  const ldd = spawnSync("ldd", ["--version"], { encoding: "utf8", timeout: 5_000 });
  return /musl/i.test(`${ldd.stdout ?? ""}${ldd.stderr ?? ""}`);
}

export const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

const SMALL_FILE_MS = 30_000;
/** A 50 MB artifact over a slow line; the bound only stops a download that hangs. */
const ARTIFACT_MS = 15 * 60_000;

async function download(url: string, timeoutMs: number): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await outboundFetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "follow" });
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
    throw new ReleaseError(`Could not download ${url}: ${cause}.`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new ReleaseError(`Could not download ${url}: the server answered HTTP ${response.status}.`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

/** The version latest.txt names. */
export async function latestVersion(base: string): Promise<string> {
  const text = new TextDecoder().decode(await download(`${base}/latest.txt`, SMALL_FILE_MS));
  return normalizeVersion(text, `${base}/latest.txt says`);
}

export interface Artifact {
  version: string;
  target: string;
  name: string;
  url: string;
  /** From SHA256SUMS. */
  expected: string;
}

/** Reads SHA256SUMS of a version and finds the artifact for a target; says so when there is none. */
export async function findArtifact(base: string, version: string, target: string): Promise<Artifact> {
  const sumsUrl = `${base}/${version}/SHA256SUMS`;
  let sums: string;
  try {
    sums = new TextDecoder().decode(await download(sumsUrl, SMALL_FILE_MS));
  } catch (error) {
    throw new ReleaseError(`${(error as Error).message.replace(/\.$/, "")} (is there a hermes ${version}?)`);
  }
  const name = `hermes-${target}.gz`;
  const line = sums
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .find(([, file]) => file === name || file === `*${name}`);
  if (!line?.[0])
    throw new ReleaseError(
      `SHA256SUMS of hermes ${version} has no entry for ${name}: there is no build for ${target} (HERMES_TARGET picks another).`,
    );
  return { version, target, name, url: `${base}/${version}/${name}`, expected: line[0].toLowerCase() };
}

/** Downloads the `.gz` and checks it against SHA256SUMS before anything unpacks it. */
export async function downloadVerified(artifact: Artifact): Promise<Uint8Array> {
  const gz = await download(artifact.url, ARTIFACT_MS);
  const actual = sha256(gz);
  if (actual !== artifact.expected)
    throw new ReleaseError(
      `checksum mismatch for ${artifact.name}: SHA256SUMS expects ${artifact.expected}, the download is ${actual}; nothing was changed.`,
    );
  return gz;
}
