import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HARD_DEADLINE_GRACE_MS } from "../gateway/gateway.ts";
import { controlSocketPath } from "../gateway/run.ts";
import {
  fill,
  isHermesUnit,
  KEY_SINCE,
  renderUnit,
  socketLeavesHome,
  timeoutStopSec,
  type UnitOptions,
  unitName,
} from "./render.ts";

const BASE: UnitOptions = {
  component: "gateway",
  kind: "system",
  binary: "/usr/local/bin/hermes",
  home: "/home/alice/.hermes",
  user: "alice",
  group: "alice",
  systemdVersion: 252,
  drainTimeoutMs: 30_000,
  version: "9.9.9",
};

/** The value of a key (the last one, as systemd keeps for single-valued keys). */
const value = (text: string, key: string) =>
  text
    .split("\n")
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1))
    .at(-1);

describe("renderUnit", () => {
  it("marks the unit as hermes's own, with the version and the way to edit it", () => {
    const text = renderUnit(BASE);
    expect(isHermesUnit(text)).toBe(true);
    expect(text.split("\n")[0]).toContain("hermes install-service 9.9.9");
    expect(text.split("\n")[0]).toContain("systemctl edit hermes-gateway.service");
    expect(renderUnit({ ...BASE, kind: "user" }).split("\n")[0]).toContain("systemctl --user edit");
    expect(isHermesUnit("[Unit]\nDescription=Hermes Agent Gateway\n")).toBe(false);
  });

  it("names instances and components", () => {
    expect(unitName("gateway")).toBe("hermes-gateway.service");
    expect(unitName("cron", "eu")).toBe("hermes-cron-eu.service");
    const text = renderUnit({ ...BASE, component: "cron", name: "eu" });
    expect(value(text, "ExecStart")).toBe("/usr/local/bin/hermes cron serve");
    expect(value(text, "Description")).toBe("hermes scheduler (eu)");
  });

  it("sizes TimeoutStopSec above the drain and the gateway's hard deadline", () => {
    for (const drain of [0, 1, 30_000, 30_001, 600_000]) {
      const text = renderUnit({ ...BASE, drainTimeoutMs: drain });
      const stop = Number(value(text, "TimeoutStopSec"));
      expect(stop).toBe(timeoutStopSec(drain));
      expect(stop * 1000).toBeGreaterThan(drain + HARD_DEADLINE_GRACE_MS);
    }
  });

  it("takes watchdog and restart delays, and refuses a restart delay under 2 s", () => {
    const text = renderUnit({ ...BASE, watchdogSec: 30, restartSec: 2 });
    expect(value(text, "WatchdogSec")).toBe("30");
    expect(value(text, "RestartSec")).toBe("2");
    expect(() => renderUnit({ ...BASE, restartSec: 1.5 })).toThrow(RangeError);
    expect(() => renderUnit({ ...BASE, watchdogSec: 0 })).toThrow(RangeError);
  });

  it("refuses relative paths, control characters, odd names", () => {
    expect(() => renderUnit({ ...BASE, binary: "dist/hermes" })).toThrow(/absolute/);
    expect(() => renderUnit({ ...BASE, home: "/srv/a\nb" })).toThrow(/cannot hold/);
    expect(() => renderUnit({ ...BASE, home: "/srv/trailing " })).toThrow(/cannot hold/);
    expect(() => renderUnit({ ...BASE, name: "a b" })).toThrow(/instance name/);
    expect(() => renderUnit({ ...BASE, name: "-x" })).toThrow(/instance name/);
    expect(() => renderUnit({ ...BASE, user: "al ice" })).toThrow(/User=/);
    // A user unit has no User=, so the name is not checked there.
    expect(renderUnit({ ...BASE, kind: "user", user: "al ice" })).not.toContain("User=");
  });

  it("quotes and escapes paths per systemd.syntax(7): spaces, quotes, backslashes, % and $", () => {
    const text = renderUnit({
      ...BASE,
      binary: "/opt/my apps/$HOME/100%/hermes",
      home: '/srv/a "b"\\c%h$d',
    });
    expect(value(text, "ExecStart")).toBe('"/opt/my apps/$$HOME/100%%/hermes" gateway run');
    expect(value(text, "Environment")).toBe('"HERMES_HOME=/srv/a \\"b\\"\\\\c%%h$d"');
    expect(value(text, "ReadWritePaths")).toBe('"/srv/a \\"b\\"\\\\c%%h$d"');
    // WorkingDirectory= takes the rest of the line as it is: only specifiers are escaped.
    expect(value(text, "WorkingDirectory")).toBe('/srv/a "b"\\c%%h$d');
    const plain = renderUnit(BASE);
    expect(value(plain, "ExecStart")).toBe("/usr/local/bin/hermes gateway run");
    expect(value(plain, "Environment")).toBe("HERMES_HOME=/home/alice/.hermes");
  });

  it("leaves out keys the target systemd does not know", () => {
    const old = renderUnit({ ...BASE, systemdVersion: 245 });
    const current = renderUnit({ ...BASE, systemdVersion: 252 });
    for (const [key, since] of Object.entries(KEY_SINCE)) {
      expect(current).toMatch(new RegExp(`^${key}=`, "m"));
      expect(old.includes(`\n${key}=`)).toBe(since <= 245);
    }
  });

  it("shares /tmp with the CLI exactly when the control socket moves there", () => {
    const long = `/srv/${"x".repeat(90)}`;
    const seen: boolean[] = [];
    for (const home of ["/home/alice/.hermes", long, `/srv/${"y".repeat(78)}`, `/srv/${"y".repeat(79)}`]) {
      const moves = controlSocketPath(home) !== join(home, "run", "gateway.sock");
      seen.push(moves);
      expect(socketLeavesHome(home)).toBe(moves);
      const text = renderUnit({ ...BASE, home });
      expect(text.includes("\nPrivateTmp=yes\n")).toBe(!moves);
      expect(value(text, "ReadWritePaths")).toBe(moves ? `${home} /tmp` : home);
    }
    // 100 bytes still fit, 101 do not: both sides of the limit were tried.
    expect(seen).toEqual([false, true, false, true]);
  });

  it("system units run as the user with hardening; user units carry neither", () => {
    const system = renderUnit(BASE);
    const user = renderUnit({ ...BASE, kind: "user" });
    expect(value(system, "User")).toBe("alice");
    expect(value(system, "Group")).toBe("alice");
    expect(value(system, "ProtectHome")).toBe("read-only");
    expect(value(system, "WantedBy")).toBe("multi-user.target");
    expect(value(user, "WantedBy")).toBe("default.target");
    for (const key of ["User", "Group", "ProtectSystem", "ReadWritePaths", "After", "Wants"])
      expect(value(user, key)).toBeUndefined();
  });
});

describe("the template language", () => {
  it("fills values and keeps or drops blocks", () => {
    const t = "a={{x}}\n{{#on}}\nb\n{{/on}}\n{{#off}}\nc\n{{#on}}\nd\n{{/on}}\n{{/off}}\ne";
    expect(fill(t, { x: "1" }, { on: true, off: false })).toBe("a=1\nb\ne");
  });

  it("refuses unknown names and unbalanced blocks", () => {
    expect(() => fill("a={{y}}", {}, {})).toThrow(/unknown value "\{\{y\}\}"/);
    expect(() => fill("{{#z}}\n{{/z}}", {}, {})).toThrow(/unknown condition "z"/);
    expect(() => fill("{{#on}}\na", {}, { on: true })).toThrow(/never closed/);
    expect(() => fill("{{/on}}", {}, { on: true })).toThrow(/closes nothing/);
  });
});
