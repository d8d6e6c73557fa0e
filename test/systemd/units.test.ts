/**
 * The units install-service writes: golden files (UPDATE_GOLDEN=1 rewrites them), the SPEC §8 settings every
 * unit must hold, and the static gates of systemd itself: `systemd-analyze verify` with nothing on stderr, and
 * `systemd-analyze security` exposure of 4.0 or lower for system units.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { HARD_DEADLINE_GRACE_MS } from "../../src/gateway/gateway.ts";
import { KEY_SINCE, renderUnit, type UnitOptions, unitName } from "../../src/systemd/render.ts";
import { ROOT } from "../helpers/cli.ts";
import { tempDir } from "../helpers/home.ts";

const GOLDEN = join(ROOT, "test", "fixtures", "systemd", "golden");

const BASE = {
  component: "gateway",
  kind: "system",
  binary: "/usr/local/bin/hermes",
  home: "/home/alice/.hermes",
  user: "alice",
  group: "alice",
  systemdVersion: 252,
  drainTimeoutMs: 30_000,
  version: "0.1.0",
} satisfies UnitOptions;

/** Each golden file and what it is rendered from. */
const CASES: Record<string, UnitOptions> = {
  "gateway-system-252": BASE,
  "gateway-system-255": { ...BASE, systemdVersion: 255 },
  "gateway-system-245": { ...BASE, systemdVersion: 245 },
  "gateway-user-252": { ...BASE, kind: "user" },
  "gateway-user-255": { ...BASE, kind: "user", systemdVersion: 255 },
  "gateway-system-home": {
    ...BASE,
    home: "/srv/hermes/support-bot",
    user: "hermes",
    group: "bots",
    drainTimeoutMs: 120_000,
    watchdogSec: 30,
    restartSec: 5,
  },
  "gateway-system-spaces": {
    ...BASE,
    binary: "/opt/my apps/hermes",
    home: '/srv/hermes data/100% "live"',
  },
  "gateway-user-spaces": {
    ...BASE,
    kind: "user",
    binary: "/home/alice/my apps/hermes",
    home: "/home/alice/bot home",
  },
  "gateway-system-name": { ...BASE, name: "eu", home: "/home/alice/.hermes-eu" },
  "gateway-system-long-home": { ...BASE, home: `/srv/${"deep/".repeat(18)}hermes` },
  "cron-system-252": { ...BASE, component: "cron" },
  "cron-user-255": { ...BASE, component: "cron", kind: "user", systemdVersion: 255 },
};

/** Keys some systemd still in use does not know, with the version that brought them. */
const NEWER_KEYS: Record<string, number> = { ...KEY_SINCE, RestartSteps: 254, RestartMaxDelaySec: 254 };

const rendered = Object.entries(CASES).map(([id, options]) => ({ id, options, text: renderUnit(options) }));

describe("golden units", () => {
  for (const { id, text } of rendered) {
    it(id, () => {
      const file = join(GOLDEN, `${id}.service`);
      if (process.env.UPDATE_GOLDEN === "1") {
        mkdirSync(GOLDEN, { recursive: true });
        writeFileSync(file, text);
      }
      expect(text).toBe(readFileSync(file, "utf8"));
    });
  }
});

/** Every line `Key=value` of the text, in order. */
const entries = (text: string) =>
  text
    .split("\n")
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const);
const get = (text: string, key: string) => entries(text).filter(([k]) => k === key);

describe("what every unit holds (SPEC §8)", () => {
  for (const { id, options, text } of rendered) {
    it(id, () => {
      const one = (key: string) => {
        const found = get(text, key);
        expect(found, key).toHaveLength(1);
        return found[0]![1];
      };
      expect(one("Type")).toBe("notify");
      expect(one("NotifyAccess")).toBe("main");
      expect(one("WatchdogSec")).toBe(String(options.watchdogSec ?? 60));
      const exec = one("ExecStart");
      expect(exec.endsWith(options.component === "gateway" ? " gateway run" : " cron serve")).toBe(true);
      expect(exec.startsWith("/") || exec.startsWith('"/')).toBe(true);
      expect(exec).not.toContain("--replace");
      expect(get(text, "ExecStartPre")).toEqual([]);
      expect(one("ExecReload")).toBe("/bin/kill -HUP $MAINPID");
      expect(one("Restart")).toBe("always");
      expect(Number(one("RestartSec"))).toBeGreaterThanOrEqual(2);
      expect(one("SuccessExitStatus")).toBe("75");
      expect(one("RestartForceExitStatus")).toBe("75");
      expect(one("RestartPreventExitStatus")).toBe("78");
      expect(one("StartLimitIntervalSec")).toBe("0");
      expect(Number(one("TimeoutStopSec")) * 1000).toBeGreaterThan(
        options.drainTimeoutMs + HARD_DEADLINE_GRACE_MS,
      );
      expect(one("KillMode")).toBe("mixed");
      expect(one("Environment")).toContain(`HERMES_HOME=`);
      expect(one("WorkingDirectory")).toBe(options.home.replaceAll("%", "%%"));
      expect(get(text, "MemoryDenyWriteExecute")).toEqual([]);
      if (options.kind === "system") {
        expect(one("User")).toBe(options.user);
        expect(one("Group")).toBe(options.group);
        expect(one("After")).toBe("network-online.target");
        expect(one("Wants")).toBe("network-online.target");
        expect(one("ProtectHome")).toBe("read-only");
        expect(one("ReadWritePaths")).not.toBe("");
        expect(one("WantedBy")).toBe("multi-user.target");
      } else {
        expect(get(text, "User")).toEqual([]);
        expect(one("WantedBy")).toBe("default.target");
      }
    });
  }

  it("units for systemd before 254 hold no key it does not know", () => {
    for (const { id, options, text } of rendered) {
      expect(text, id).not.toContain("notify-reload");
      for (const [key] of entries(text)) {
        const since = NEWER_KEYS[key];
        if (since !== undefined)
          expect(options.systemdVersion, `${id}: ${key}`).toBeGreaterThanOrEqual(since);
      }
      if (options.systemdVersion < 254) {
        expect(text, id).not.toMatch(/^RestartSteps=|^RestartMaxDelaySec=/m);
      }
    }
  });
});

const analyze = spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" });
const installed = Number(/^systemd (\d+)/.exec(analyze.stdout ?? "")?.[1] ?? 0);
if (analyze.error) console.warn(`skipping the systemd-analyze gates: systemd-analyze is not installed here`);

describe.skipIf(!!analyze.error)("systemd-analyze gates", () => {
  /** Writes the unit as its own name, with its binary as an executable at the same relative place under a temp root. */
  function stage(options: UnitOptions): { file: string; options: UnitOptions } {
    const root = tempDir();
    const binary = join(root, options.binary);
    mkdirSync(dirname(binary), { recursive: true });
    copyFileSync("/bin/true", binary);
    chmodSync(binary, 0o755);
    const staged = { ...options, binary };
    const dir = join(root, "units");
    mkdirSync(dir);
    const file = join(dir, unitName(options.component, options.name));
    writeFileSync(file, renderUnit(staged));
    return { file, options: staged };
  }

  for (const { id, options } of rendered) {
    it(`${id}: systemd-analyze verify prints nothing`, () => {
      const { file } = stage(options);
      const user = options.kind === "user";
      // A user-mode verify needs a runtime directory of its own; it touches nothing else.
      const runtime = tempDir();
      const r = spawnSync("systemd-analyze", [...(user ? ["--user"] : []), "verify", "--man=no", file], {
        encoding: "utf8",
        env: { ...process.env, XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_COLOR: "0" },
        timeout: 30_000,
      });
      // A unit for a newer systemd than the one here may hold keys this one does not know; nothing else.
      const unknownHere = (line: string) => {
        const key = /Unknown key '(\w+)'/.exec(line)?.[1];
        return key !== undefined && (NEWER_KEYS[key] ?? 0) > installed && options.systemdVersion > installed;
      };
      const stderr = r.stderr
        .split("\n")
        .filter((l) => l !== "" && !unknownHere(l))
        .join("\n");
      expect(stderr).toBe("");
      expect(r.stdout).toBe("");
      expect(r.status).toBe(0);
    });

    if (options.kind === "system") {
      it(`${id}: systemd-analyze security exposure is 4.0 or lower`, () => {
        const { file } = stage(options);
        const r = spawnSync("systemd-analyze", ["security", "--offline=yes", "--no-pager", file], {
          encoding: "utf8",
          timeout: 30_000,
        });
        const level = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(r.stdout)?.[1];
        expect(level, r.stdout + r.stderr).toBeDefined();
        expect(Number(level)).toBeLessThanOrEqual(4.0);
      });
    }
  }
});
