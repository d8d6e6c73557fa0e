/**
 * install/install.sh against a release tree served from loopback (test/helpers/release.ts), in a clean HOME
 * with HERMES_INSTALL_DIR set, under dash, `bash --posix` and busybox sh (with only busybox's applets on PATH,
 * so its wget, sha256sum and gzip are what runs). The script is piped to the shell, as `curl … | sh` does.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bakeInstaller, INSTALLER_SOURCE } from "../../scripts/release-tree.ts";
import { BINARY } from "../helpers/cli.ts";
import { tempDir } from "../helpers/home.ts";
import { HOST_TARGET, NEW, OLD, runAsync, tampered } from "../helpers/release.ts";
import { useServedRelease } from "../helpers/served-release.ts";

const SCRIPT = readFileSync(INSTALLER_SOURCE, "utf8");
const MARKER = "# added by the hermes installer";
const BUSYBOX_APPLETS = [
  "sh",
  "wget",
  "sha256sum",
  "gzip",
  "mktemp",
  "uname",
  "cat",
  "grep",
  "cut",
  "chmod",
  "mkdir",
  "mv",
  "rm",
  "tr",
  "printf",
  "tail",
  "id",
];

interface Shell {
  name: string;
  cmd: string;
  args: string[];
  /** PATH for the run (busybox: only its applets). */
  path: () => string;
  shell: string;
}

let busyboxBin = "";
const SHELLS: Shell[] = [
  { name: "dash", cmd: "dash", args: ["-s"], path: () => "/usr/bin:/bin", shell: "/bin/sh" },
  {
    name: "bash --posix",
    cmd: "bash",
    args: ["--posix", "-s"],
    path: () => "/usr/bin:/bin",
    shell: "/bin/bash",
  },
  {
    name: "busybox sh (wget)",
    cmd: "/usr/bin/busybox",
    args: ["sh", "-s"],
    path: () => busyboxBin,
    shell: "/bin/sh",
  },
];

const release = useServedRelease();

beforeAll(async () => {
  // Not tempDir(): that is emptied after each test, and the toolbox serves the whole file.
  busyboxBin = mkdtempSync(join(tmpdir(), "hermes-busybox-"));
  for (const applet of BUSYBOX_APPLETS) symlinkSync("/usr/bin/busybox", join(busyboxBin, applet));
}, 120_000);

afterAll(async () => {
  if (busyboxBin) rmSync(busyboxBin, { recursive: true, force: true });
});

interface Env {
  home: string;
  dir: string;
}

function freshHome(): Env {
  const home = tempDir();
  return { home, dir: join(home, "opt", "bin") };
}

function install(sh: Shell, env: Env, extra: Record<string, string> = {}, script: string | Buffer = SCRIPT) {
  return runAsync(sh.cmd, sh.args, {
    input: script,
    cwd: env.home,
    timeoutMs: 90_000,
    env: {
      HOME: env.home,
      PATH: sh.path(),
      SHELL: sh.shell,
      HERMES_INSTALL_DIR: env.dir,
      HERMES_INSTALL_BASE_URL: release.server.url,
      ...extra,
    },
  });
}

const versionOf = (bin: string) => spawnSync(bin, ["--version"], { encoding: "utf8" }).stdout.trim();
const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
/** Everything under a directory, relative paths, sorted. */
function tree_(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}
const markerLines = (file: string) =>
  existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l.includes(MARKER))
    : [];

describe.each(SHELLS)("install.sh under $name", (sh) => {
  it("installs the latest, then a re-run changes nothing, a pin installs that version, and an upgrade replaces it atomically", async () => {
    const env = freshHome();
    const first = await install(sh, env);
    expect(first.stderr).toContain(`installed hermes ${NEW} to ${env.dir}/hermes`);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe("");
    console.log(`[installer] ${sh.name}: installed ${NEW} from loopback in ${first.ms} ms`);
    const bin = join(env.dir, "hermes");
    expect(versionOf(bin)).toBe(`hermes ${NEW}`);
    expect(statSync(bin).mode & 0o777).toBe(0o755);
    expect(first.stderr).toMatch(/hermes lint config/);
    expect(first.stderr).toMatch(/hermes install-service/);
    // Nothing but the binary and the PATH line(s); no staged file left behind.
    const rcFiles = sh.shell === "/bin/bash" ? [".bashrc", ".profile"] : [".profile"];
    expect(tree_(env.home)).toEqual([...rcFiles, "opt", "opt/bin", "opt/bin/hermes"].sort());
    for (const rc of rcFiles) expect(markerLines(join(env.home, rc))).toHaveLength(1);

    // The line it added puts the directory on PATH for a new shell, and only once when read twice.
    const shown = spawnSync("sh", ["-c", `. ./.profile; . ./.profile; printf %s "$PATH"`], {
      cwd: env.home,
      env: { PATH: "/usr/bin:/bin", HOME: env.home },
      encoding: "utf8",
    }).stdout;
    expect(shown.split(":").filter((p) => p === env.dir)).toHaveLength(1);

    const before = statSync(bin);
    const again = await install(sh, env);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`hermes ${NEW} is already installed at ${bin}; nothing changed`);
    const after = statSync(bin);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    for (const rc of rcFiles) expect(markerLines(join(env.home, rc))).toHaveLength(1);

    const pinned = await install(sh, env, { HERMES_VERSION: `v${OLD}` });
    expect(pinned.code).toBe(0);
    expect(versionOf(bin)).toBe(`hermes ${OLD}`);
    expect(sha(bin)).toBe(sha(BINARY));

    // A hard link to the installed file stands for a gateway still running it: an atomic replace gives the
    // name a new file and leaves the old one whole; a copy over it would change what the link sees.
    const running = join(env.home, "running-hermes");
    linkSync(bin, running);
    const upgrade = await install(sh, env);
    expect(upgrade.code).toBe(0);
    expect(upgrade.stderr).toContain(`installed hermes ${NEW}`);
    expect(upgrade.stderr).toContain("hermes gateway restart");
    expect(versionOf(bin)).toBe(`hermes ${NEW}`);
    expect(statSync(bin).ino).not.toBe(statSync(running).ino);
    expect(versionOf(running)).toBe(`hermes ${OLD}`);
    expect(readdirSync(env.dir)).toEqual(["hermes"]);
  }, 120_000);

  it("a byte changed inside the artifact: fails saying checksum, with both values, and leaves the installed binary alone", async () => {
    const env = freshHome();
    mkdirSync(env.dir, { recursive: true });
    const bin = join(env.dir, "hermes");
    writeFileSync(bin, readFileSync(BINARY), { mode: 0o755 });
    const before = statSync(bin);
    const bad = tampered(release.tree.dir, NEW);
    release.server.override(`/${NEW}/hermes-${HOST_TARGET}.gz`, bad);
    try {
      const run = await install(sh, env);
      expect(run.code).toBe(1);
      const expected = /^([0-9a-f]{64}) /.exec(
        readFileSync(join(release.tree.dir, NEW, "SHA256SUMS"), "utf8"),
      )![1]!;
      const actual = createHash("sha256").update(bad).digest("hex");
      expect(run.stderr).toContain(
        `checksum mismatch for hermes-${HOST_TARGET}.gz: SHA256SUMS expects ${expected}, the download is ${actual}; nothing was installed`,
      );
    } finally {
      release.server.clearOverrides();
    }
    expect(readdirSync(env.dir)).toEqual(["hermes"]);
    expect(statSync(bin).ino).toBe(before.ino);
    expect(versionOf(bin)).toBe(`hermes ${OLD}`);
  }, 60_000);

  it("a wrong SHA256SUMS: fails saying checksum and installs nothing", async () => {
    const env = freshHome();
    const wrong = `${"0".repeat(64)}  hermes-${HOST_TARGET}.gz\n`;
    release.server.override(`/${NEW}/SHA256SUMS`, wrong);
    try {
      const run = await install(sh, env);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/checksum mismatch .* expects 0{64}, the download is [0-9a-f]{64}/);
    } finally {
      release.server.clearOverrides();
    }
    expect(existsSync(join(env.dir, "hermes"))).toBe(false);
    expect(existsSync(join(env.home, ".profile"))).toBe(false);
  }, 60_000);

  it("a target the release has no build for: says so and installs nothing", async () => {
    const env = freshHome();
    const run = await install(sh, env, { HERMES_TARGET: "linux-arm64-musl" });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `SHA256SUMS of hermes ${NEW} has no entry for hermes-linux-arm64-musl.gz: there is no build for linux-arm64-musl, so nothing was installed`,
    );
    expect(existsSync(env.dir)).toBe(false);
  });

  it("a 404 (no such version; an artifact listed but missing): names the URL and the 404, installs nothing", async () => {
    const env = freshHome();
    const noVersion = await install(sh, env, { HERMES_VERSION: "9.9.9" });
    expect(noVersion.code).toBe(1);
    expect(noVersion.stderr).toContain(`could not download ${release.server.url}/9.9.9/SHA256SUMS: `);
    expect(noVersion.stderr).toMatch(/404/);
    expect(noVersion.stderr).toContain("(is there a hermes 9.9.9?)");

    release.server.override(`/${NEW}/hermes-${HOST_TARGET}.gz`, 404);
    try {
      const missing = await install(sh, env);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(
        `could not download ${release.server.url}/${NEW}/hermes-${HOST_TARGET}.gz: `,
      );
      expect(missing.stderr).toMatch(/404/);
    } finally {
      release.server.clearOverrides();
    }
    expect(existsSync(env.dir)).toBe(false);
  });

  it("a truncated script: a syntax error, nothing downloaded, nothing installed", async () => {
    const env = freshHome();
    // Cuts inside functions, main's among them: the shell must reject the script before running any of it.
    const mainAt = SCRIPT.indexOf("\nmain() {");
    const cuts = [
      SCRIPT.indexOf("\nresolve_base() {") + 120,
      SCRIPT.indexOf("\nfetch() {") + 300,
      mainAt + 200,
      SCRIPT.length - 40,
    ];
    for (const cut of cuts) {
      const seen = release.server.requests.length;
      const run = await install(sh, env, {}, SCRIPT.slice(0, cut));
      expect(run.code, `cut at ${cut}`).not.toBe(0);
      expect(run.stderr, `cut at ${cut}`).toMatch(/syntax error|unexpected|expected/i);
      expect(release.server.requests.length, `cut at ${cut}`).toBe(seen);
    }
    expect(readdirSync(env.home)).toEqual([]);
  });
});

describe("install.sh", () => {
  const dash = SHELLS[0]!;

  it("is clean under shellcheck -s sh and -s dash (a missing shellcheck fails this test)", () => {
    for (const shell of ["sh", "dash"]) {
      const r = spawnSync("shellcheck", ["-s", shell, INSTALLER_SOURCE], { encoding: "utf8" });
      if (r.error)
        throw new Error(`shellcheck could not run (${r.error.message}); install it (Debian: shellcheck)`);
      expect(r.stdout + r.stderr).toBe("");
      expect(r.status).toBe(0);
    }
  });

  it("the release's install.sh has the base URL baked in: curl URL/install.sh | sh installs with no variable set", async () => {
    const env = freshHome();
    expect(bakeInstaller(SCRIPT, `${release.server.url}/`)).toContain(
      `HERMES_RELEASE_BASE_URL='${release.server.url}'`,
    );
    const run = await runAsync("sh", ["-c", 'curl -fsSL "$0/install.sh" | dash', release.server.url], {
      cwd: env.home,
      env: { HOME: env.home, PATH: "/usr/bin:/bin", HERMES_INSTALL_DIR: env.dir, HERMES_NO_MODIFY_PATH: "1" },
    });
    expect(run.stderr).toContain(`installing hermes ${NEW} (${HOST_TARGET}) from ${release.server.url}`);
    expect(run.code).toBe(0);
    // HERMES_NO_MODIFY_PATH=1: no startup file written.
    expect(tree_(env.home)).toEqual(["opt", "opt/bin", "opt/bin/hermes"]);
  }, 60_000);

  it("refuses plain http to a host that is not loopback, and an install.sh with no site and no variable", async () => {
    const env = freshHome();
    const remote = await install(dash, env, { HERMES_INSTALL_BASE_URL: "http://example.com/releases" });
    expect(remote.code).toBe(1);
    expect(remote.stderr).toContain(
      "HERMES_INSTALL_BASE_URL http://example.com/releases is plain http on a host that is not loopback; use https://",
    );
    const none = await install(dash, env, { HERMES_INSTALL_BASE_URL: "" });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("knows no release site");
    expect(readdirSync(env.home)).toEqual([]);
  });

  it("prints the detected target and exits (HERMES_INSTALL_PRINT_TARGET=1), following uname and HERMES_TARGET", async () => {
    const env = freshHome();
    const shim = tempDir();
    writeFileSync(
      join(shim, "uname"),
      `#!/bin/sh\ncase "$1" in -s) echo Linux ;; -m) echo aarch64 ;; esac\n`,
      { mode: 0o755 },
    );
    const arm = await install(dash, env, {
      HERMES_INSTALL_PRINT_TARGET: "1",
      PATH: `${shim}:/usr/bin:/bin`,
    });
    expect(arm.code).toBe(0);
    // An arm64 Linux: no baseline variant; -musl only where the C library is musl (not on this host).
    expect(arm.stdout).toBe("linux-arm64\n");
    const forced = await install(dash, env, {
      HERMES_INSTALL_PRINT_TARGET: "1",
      HERMES_TARGET: "darwin-arm64",
    });
    expect(forced.stdout).toBe("darwin-arm64\n");
    const bad = await install(dash, env, { HERMES_TARGET: "linux/x64" });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('HERMES_TARGET "linux/x64" is not a target name');
    expect(release.server.requests.some((p) => p.includes("darwin"))).toBe(false);
  });
});
