/**
 * `hermes self-update` against the release tree served from loopback (test/helpers/release.ts): the compiled
 * binary is copied into an install directory and updates itself there. Services: none (the user is told to
 * restart), or a unit driven through the fake systemctl (test/fixtures/systemd/fake-systemctl.sh), whose
 * restart either comes up or fails with exit 78. The real-systemd run is test/systemd/self-update.test.ts.
 */
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BINARY, NODE_BUNDLE, ROOT } from "../helpers/cli.ts";
import { tempDir } from "../helpers/home.ts";
import { HOST_TARGET, NEW, OLD, runAsync, tampered } from "../helpers/release.ts";
import { useServedRelease } from "../helpers/served-release.ts";
import { ConnectProxy } from "../kit/connect-proxy.ts";

const FAKE_SYSTEMCTL = join(ROOT, "test", "fixtures", "systemd", "fake-systemctl.sh");

const release = useServedRelease();

interface Setup {
  dir: string;
  bin: string;
  units: string;
  fake: string;
  env: Record<string, string>;
}

/** An install dir holding hermes 0.1.0, an empty unit dir, and the environment to run it in. */
function setup(extra: Record<string, string> = {}): Setup {
  const root = tempDir();
  const dir = join(root, "bin");
  const units = join(root, "units");
  const fake = join(root, "fake-systemd");
  for (const d of [dir, units, fake]) mkdirSync(d);
  const bin = join(dir, "hermes");
  copyFileSync(BINARY, bin);
  return {
    dir,
    bin,
    units,
    fake,
    env: {
      HOME: root,
      PATH: "/usr/bin:/bin",
      HERMES_HOME: join(root, ".hermes"),
      HERMES_INSTALL_BASE_URL: release.server.url,
      // Units are looked for here, never in this machine's /etc/systemd/system.
      HERMES_SYSTEMD_UNIT_DIR: units,
      ...extra,
    },
  };
}

const selfUpdate = (s: Setup, args: string[] = [], env: Record<string, string> = {}) =>
  runAsync(s.bin, ["self-update", ...args], { env: { ...s.env, ...env }, timeoutMs: 90_000 });
const versionOf = (bin: string) => spawnSync(bin, ["--version"], { encoding: "utf8" }).stdout.trim();

describe("hermes self-update", () => {
  it("--check says a newer version is available (exit 1), and up to date once it is installed (exit 0)", async () => {
    const s = setup();
    const check = await selfUpdate(s, ["--check"]);
    expect(check.stdout).toBe(
      `hermes ${NEW} is available for ${HOST_TARGET} (this is ${OLD}); run: hermes self-update\n`,
    );
    expect(check.code).toBe(1);
    expect(versionOf(s.bin)).toBe(`hermes ${OLD}`);
    expect(readdirSync(s.dir)).toEqual(["hermes"]);
    // --check downloads no binary.
    expect(release.server.requests.filter((p) => p.endsWith(".gz"))).toEqual([]);
  });

  it("downloads through the proxy the environment names (ALL_PROXY), like the gateway", async () => {
    const proxy = await ConnectProxy.start();
    try {
      // A bare host:port, as people often write it (read by hermes's own proxy rules, not only the runtime's).
      const s = setup({ ALL_PROXY: new URL(proxy.url).host });
      const run = await selfUpdate(s);
      expect(run.code, run.stderr).toBe(0);
      expect(versionOf(s.bin)).toBe(`hermes ${NEW}`);
      const target = new URL(release.server.url).host;
      // latest.txt, SHA256SUMS and the artifact, each through the proxy.
      expect(proxy.to(target).length).toBeGreaterThanOrEqual(3);
    } finally {
      await proxy.close();
    }
  });

  it("with no service: replaces the binary atomically, keeps the previous one, and says to restart", async () => {
    const s = setup();
    const running = join(s.dir, "..", "running-hermes");
    linkSync(s.bin, running);
    const run = await selfUpdate(s);
    expect(run.stderr).toContain(`updating to hermes ${NEW} (${HOST_TARGET}) from ${release.server.url}`);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${s.bin} is now hermes ${NEW} (was ${OLD}, kept as ${s.bin}.previous)`);
    expect(run.stdout).toContain("No hermes service runs");
    expect(run.stdout).toContain("hermes gateway restart");
    expect(versionOf(s.bin)).toBe(`hermes ${NEW}`);
    expect(versionOf(`${s.bin}.previous`)).toBe(`hermes ${OLD}`);
    // The file a running process started from is untouched: the name points at a new file.
    expect(versionOf(running)).toBe(`hermes ${OLD}`);
    expect(statSync(s.bin).ino).not.toBe(statSync(running).ino);
    expect(readdirSync(s.dir).sort()).toEqual(["hermes", "hermes.previous"]);

    const check = await runAsync(s.bin, ["self-update", "--check"], { env: s.env });
    expect(check).toMatchObject({ code: 0, stdout: `hermes ${NEW} is up to date (latest: ${NEW})\n` });
    // The release binary has the site baked in: no variable needed.
    const baked = await runAsync(s.bin, ["self-update", "--check"], {
      env: { ...s.env, HERMES_INSTALL_BASE_URL: "" },
    });
    expect(baked).toMatchObject({ code: 0, stdout: `hermes ${NEW} is up to date (latest: ${NEW})\n` });
    const again = await runAsync(s.bin, ["self-update"], { env: s.env });
    expect(again).toMatchObject({
      code: 0,
      stdout: `hermes ${NEW} is already up to date (latest: ${NEW}); nothing changed\n`,
    });

    // --version pins, down as well as up.
    const pinned = await runAsync(s.bin, ["self-update", "--version", `v${OLD}`], { env: s.env });
    expect(pinned.stderr).toContain(`downgrading to hermes ${OLD}`);
    expect(pinned.code).toBe(0);
    expect(versionOf(s.bin)).toBe(`hermes ${OLD}`);
    expect(versionOf(`${s.bin}.previous`)).toBe(`hermes ${NEW}`);
  }, 60_000);

  it("a byte changed in the artifact, a missing version, a missing target: one sentence, exit 1, nothing changed", async () => {
    const s = setup();
    const before = statSync(s.bin);
    release.server.override(`/${NEW}/hermes-${HOST_TARGET}.gz`, tampered(release.tree.dir, NEW));
    try {
      const bad = await selfUpdate(s);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(
        new RegExp(
          `^checksum mismatch for hermes-${HOST_TARGET}\\.gz: SHA256SUMS expects [0-9a-f]{64}, the download is [0-9a-f]{64}; nothing was changed\\.$`,
          "m",
        ),
      );
    } finally {
      release.server.clearOverrides();
    }
    const missing = await selfUpdate(s, ["--version", "9.9.9"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split("\n").at(-1)).toBe(
      `Could not download ${release.server.url}/9.9.9/SHA256SUMS: the server answered HTTP 404 (is there a hermes 9.9.9?)`,
    );
    const target = await selfUpdate(s, [], { HERMES_TARGET: "linux-arm64-musl" });
    expect(target.code).toBe(1);
    expect(target.stderr).toContain(
      `SHA256SUMS of hermes ${NEW} has no entry for hermes-linux-arm64-musl.gz: there is no build for linux-arm64-musl`,
    );
    const after = statSync(s.bin);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(readdirSync(s.dir)).toEqual(["hermes"]);
  }, 60_000);

  it("bad input: a malformed --version and a non-loopback http site exit 2; no site, or running from source, exit 1", async () => {
    const s = setup();
    const version = await selfUpdate(s, ["--version", "latest!"]);
    expect(version).toMatchObject({
      code: 2,
      stderr: '--version "latest!" is not a hermes version (e.g. 0.1.0)\n',
    });
    const http = await selfUpdate(s, [], { HERMES_INSTALL_BASE_URL: "http://example.com/r" });
    expect(http.code).toBe(2);
    expect(http.stderr).toContain("HERMES_INSTALL_BASE_URL http://example.com/r is plain http");
    const none = await selfUpdate(s, [], { HERMES_INSTALL_BASE_URL: "" });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("set HERMES_INSTALL_BASE_URL");
    const source = await runAsync(process.execPath, [NODE_BUNDLE, "self-update"], { env: s.env });
    expect(source.code).toBe(1);
    expect(source.stderr).toContain("acts on the installed hermes binary");
    expect(readdirSync(s.dir)).toEqual(["hermes"]);
  });

  describe("with a service running this binary (fake systemctl)", () => {
    function withUnit(): Setup {
      const s = setup();
      s.env.HERMES_SYSTEMCTL = FAKE_SYSTEMCTL;
      s.env.FAKE_SYSTEMD_DIR = s.fake;
      writeFileSync(
        join(s.units, "hermes-gateway.service"),
        `# Written by hermes install-service ${OLD}\n[Service]\nType=notify\nExecStart=${s.bin} gateway run\nTimeoutStopSec=1\n`,
      );
      // A unit for another binary is not this update's business.
      writeFileSync(
        join(s.units, "hermes-gateway-other.service"),
        `# Written by hermes install-service ${OLD}\n[Service]\nExecStart=/opt/other/hermes gateway run\n`,
      );
      writeFileSync(join(s.fake, "state"), "active\n");
      writeFileSync(join(s.fake, "invocations"), "1\n");
      return s;
    }
    const calls = (s: Setup) => readFileSync(join(s.fake, "calls"), "utf8").trim().split("\n");

    it("restarts it and waits until it is ready on the new version", async () => {
      const s = withUnit();
      const run = await selfUpdate(s);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`hermes-gateway.service restarted: ready on hermes ${NEW}`);
      expect(calls(s).filter((c) => c.includes("restart"))).toEqual([
        "--no-block restart hermes-gateway.service",
      ]);
      expect(versionOf(s.bin)).toBe(`hermes ${NEW}`);
    });

    it("one that fails after the restart (exit 78) brings the previous binary back and restarts it again", async () => {
      const s = withUnit();
      writeFileSync(join(s.fake, "exit-status"), "78\n");
      const run = await selfUpdate(s);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`hermes-gateway.service did not become ready on hermes ${NEW}: `);
      expect(run.stderr).toContain("exit status 78");
      expect(run.stderr).toContain(`rolled back: ${s.bin} is hermes ${OLD} again`);
      expect(calls(s).filter((c) => c.includes("restart"))).toHaveLength(2);
      expect(versionOf(s.bin)).toBe(`hermes ${OLD}`);
      expect(existsSync(`${s.bin}.previous`)).toBe(true);
    }, 90_000);
  });
});
