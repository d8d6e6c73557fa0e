import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeHome, tempDir, writeFile } from "../../../test/helpers/home.ts";
import { fakeSystemd, installUnits, lintUnitFiles, thisSystemd } from "../../../test/helpers/units.ts";
import { lintUnit } from "../run-service.ts";

/** A unit that every rule accepts; tests change one thing at a time. */
const GOOD = `[Unit]
Description=hermes
StartLimitIntervalSec=0

[Service]
Type=notify
NotifyAccess=main
WatchdogSec=60
ExecStart=/usr/local/bin/hermes gateway run
Restart=always
RestartSec=10
SuccessExitStatus=75
RestartForceExitStatus=75
RestartPreventExitStatus=78
TimeoutStopSec=60
Environment=HERMES_HOME=/var/lib/hermes
`;

const MAIN = "hermes-gateway.service";

function lint(text: string, dropIns: string[] = [], options: Parameters<typeof lintUnitFiles>[1] = {}) {
  const units = [
    { name: MAIN, text },
    ...dropIns.map((t, i) => ({ name: `${MAIN}.d/${i}-x.conf`, text: t })),
  ];
  return lintUnitFiles(units, options);
}
const found = (rule: string, text: string, dropIns: string[] = [], options = {}) =>
  lint(text, dropIns, options).filter((d) => d.rule === rule);
/** GOOD with `key=` lines replaced (a null value removes the key) and extra lines added to [Service]. */
function good(changes: Record<string, string | null> = {}, extra = ""): string {
  let text = GOOD;
  for (const [key, value] of Object.entries(changes)) {
    const line = new RegExp(`^${key}=.*\\n`, "m");
    text = line.test(text)
      ? text.replace(line, value === null ? "" : `${key}=${value}\n`)
      : `${text}${value === null ? "" : `${key}=${value}\n`}`;
  }
  return `${text}${extra}`;
}

describe("the good unit", () => {
  it("has no findings", () => {
    expect(lint(GOOD)).toEqual([]);
  });
});

describe("service-replace-flag", () => {
  it("finds --replace as an argument, with =, inside sh -c, and in a drop-in, pointing at it", () => {
    const [d] = found(
      "service-replace-flag",
      good({ ExecStart: "/usr/local/bin/hermes gateway run --replace" }),
    );
    expect(d).toMatchObject({ line: 9, column: 45, path: "Service.ExecStart", severity: "error" });
    expect(
      found("service-replace-flag", good({ ExecStart: "/usr/local/bin/hermes gateway run --replace=yes" })),
    ).toHaveLength(1);
    expect(
      found("service-replace-flag", good({ ExecStart: `/bin/sh -c "exec hermes gateway run --replace"` })),
    ).toHaveLength(1);
    const dropIn = found("service-replace-flag", GOOD, [
      "[Service]\nExecStart=\nExecStart=/usr/local/bin/hermes gateway run --replace\n",
    ]);
    expect(dropIn[0]?.file).toMatch(/hermes-gateway\.service\.d\/0-x\.conf$/);
  });

  it("leaves other words alone, and a --replace that a later ExecStart= reset removed", () => {
    expect(
      found("service-replace-flag", good({ ExecStart: "/usr/local/bin/hermes gateway run --replacement" })),
    ).toEqual([]);
    expect(
      found("service-replace-flag", good({ ExecStart: "/usr/local/bin/hermes gateway run --replace" }), [
        "[Service]\nExecStart=\nExecStart=/usr/local/bin/hermes gateway run\n",
      ]),
    ).toEqual([]);
  });
});

describe("service-exit-75", () => {
  it("accepts 75 in either list, by number or name, among other words", () => {
    for (const extra of [
      { SuccessExitStatus: null, RestartForceExitStatus: "75 SIGUSR1" },
      { RestartForceExitStatus: null, SuccessExitStatus: "0 75" },
      { SuccessExitStatus: null, RestartForceExitStatus: "TEMPFAIL" },
    ])
      expect(found("service-exit-75", good(extra)), JSON.stringify(extra)).toEqual([]);
  });

  it("names exit 75 and why: a planned restart, and what the policy does with it", () => {
    const [d] = found("service-exit-75", good({ SuccessExitStatus: null, RestartForceExitStatus: null }));
    expect(d?.message).toContain("exits 75 after draining for a planned restart");
    expect(d?.message).toContain("restarts it only because of Restart=always");
    const [dead] = found(
      "service-exit-75",
      good({ SuccessExitStatus: null, RestartForceExitStatus: null, Restart: "on-success" }),
    );
    expect(dead?.message).toContain("a /restart leaves the gateway dead");
  });

  it("sees a drop-in that empties the list", () => {
    const d = found("service-exit-75", good({ SuccessExitStatus: null }), [
      "[Service]\nRestartForceExitStatus=\n",
    ]);
    expect(d).toHaveLength(1);
  });
});

describe("service-restart-policy", () => {
  it("follows a drop-in that overrides Restart=, both ways", () => {
    const broken = found("service-restart-policy", GOOD, ["[Service]\nRestart=on-failure\n"]);
    expect(broken).toHaveLength(1);
    expect(broken[0]?.file?.endsWith("0-x.conf")).toBe(true);
    expect(broken[0]?.message).toBe(
      "Restart=on-failure: after a clean exit (0) systemd does not start the gateway again, and it stays dead",
    );
    expect(
      found("service-restart-policy", good({ Restart: "on-failure" }), ["[Service]\nRestart=always\n"]),
    ).toEqual([]);
  });

  it("under Restart=no with 75 forced, names the clean exit and the crash but not the planned restart", () => {
    const [d] = found("service-restart-policy", good({ Restart: "no" }));
    expect(d?.message).toContain("a clean exit (0), a crash (exit 1), a kill by SIGKILL");
    expect(d?.message).not.toContain("75");
  });

  it("says when Restart= is missing, and when its value is one systemd ignores", () => {
    expect(found("service-restart-policy", good({ Restart: null }))[0]?.message).toMatch(
      /^Restart= is not set, so Restart=no applies/,
    );
    expect(found("service-restart-policy", good({ Restart: "sometimes" }))[0]?.message).toContain(
      "systemd ignores Restart=sometimes",
    );
  });

  it("finds a planned restart that on-failure skips because 75 counts as success and is not forced", () => {
    const [d] = found(
      "service-restart-policy",
      good({ Restart: "on-failure", RestartForceExitStatus: null }),
    );
    expect(d?.message).toContain("a planned restart (exit 75)");
  });

  it("includes the watchdog kill only when there is a watchdog, and names a prevented code", () => {
    expect(found("service-restart-policy", good({ Restart: "on-abort" }))[0]?.message).toContain(
      "a watchdog timeout",
    );
    expect(
      found("service-restart-policy", good({ Restart: "on-abort", WatchdogSec: null }))[0]?.message,
    ).not.toContain("watchdog");
    expect(found("service-restart-policy", good({ RestartPreventExitStatus: "0 78" }))[0]?.message).toContain(
      "RestartPreventExitStatus= also lists 0",
    );
  });
});

describe("service-exit-78", () => {
  it("is quiet with 78 prevented (also by name, or in a drop-in) and finds it missing otherwise", () => {
    expect(found("service-exit-78", good({ RestartPreventExitStatus: "CONFIG" }))).toEqual([]);
    expect(
      found("service-exit-78", good({ RestartPreventExitStatus: null }), [
        "[Service]\nRestartPreventExitStatus=78\n",
      ]),
    ).toEqual([]);
    const [d] = found("service-exit-78", good({ RestartPreventExitStatus: null, RestartSec: "7" }));
    expect(d?.message).toContain("every 7 s into the same error");
    expect(d).toMatchObject({ severity: "error", line: 5, path: "Service" });
  });
});

describe("service-restart-sec", () => {
  it("accepts 2 s and more in any spelling", () => {
    for (const value of ["2", "2s", "2000ms", "1min 30s", "0.5min"])
      expect(found("service-restart-sec", good({ RestartSec: value })), value).toEqual([]);
  });

  it("finds it missing, short, infinite, or unparsable (then systemd's 100 ms applies)", () => {
    expect(found("service-restart-sec", good({ RestartSec: null }))[0]?.message).toContain("100 ms");
    expect(found("service-restart-sec", good({ RestartSec: "1.5" }))[0]?.message).toContain("under 2 s");
    expect(found("service-restart-sec", good({ RestartSec: "1999ms" }))).toHaveLength(1);
    expect(found("service-restart-sec", good({ RestartSec: "infinity" }))[0]?.message).toContain("never");
    expect(found("service-restart-sec", good({ RestartSec: "five" }))[0]?.message).toContain(
      "systemd ignores RestartSec=five",
    );
  });

  it("keeps the earlier value when a drop-in's is one systemd ignores", () => {
    expect(found("service-restart-sec", GOOD, ["[Service]\nRestartSec=banana\n"])).toEqual([]);
    expect(found("service-restart-sec", GOOD, ["[Service]\nRestartSec=1\n"])).toHaveLength(1);
  });
});

describe("service-start-limit", () => {
  const limit = (
    unitLines: string,
    service: Record<string, string | null> = {},
    version: number | null = 252,
  ) =>
    found("service-start-limit", good(service).replace("StartLimitIntervalSec=0\n", unitLines), [], {
      systemd: fakeSystemd(version),
    });

  it("is quiet when the limit is off: interval 0 or burst 0, in [Unit] or the deprecated [Service] spellings", () => {
    expect(limit("StartLimitIntervalSec=0\n")).toEqual([]);
    expect(limit("StartLimitBurst=0\n", { RestartSec: "1" })).toEqual([]);
    expect(limit("", { StartLimitInterval: "0", RestartSec: "1" })).toEqual([]);
  });

  it("counts the default limit only when RestartSec is short enough for 5 starts in 10 s", () => {
    expect(limit("")).toEqual([]);
    expect(limit("", { RestartSec: "2" })).toEqual([]);
    const [d] = limit("", { RestartSec: "1" });
    expect(d?.message).toContain("systemd's default start limit of 5 starts in 10 s");
    expect(d?.message).toContain("planned exit-75 restarts count as starts too");
    expect(d).toMatchObject({ path: "Unit", line: 1 });
  });

  it("finds a bounded limit that a restart loop reaches, and infinity", () => {
    const [d] = limit("StartLimitIntervalSec=600\nStartLimitBurst=5\n", { RestartSec: "30" });
    expect(d?.message).toContain("makes 5 starts and asks for one more 150 s after the first");
    expect(d).toMatchObject({ path: "Unit.StartLimitIntervalSec", line: 3 });
    expect(limit("StartLimitIntervalSec=infinity\n")[0]?.message).toContain("never closes");
    expect(limit("StartLimitIntervalSec=60\nStartLimitBurst=5\n", { RestartSec: "20" })).toEqual([]);
  });

  it("accepts a bounded limit with backoff on systemd 254, not on 252 which ignores RestartSteps", () => {
    const backoff = { RestartSteps: "5", RestartMaxDelaySec: "300" };
    const lines = "StartLimitIntervalSec=600\nStartLimitBurst=10\n";
    expect(limit(lines, backoff, 254)).toEqual([]);
    const [d] = limit(lines, backoff, 252);
    expect(d?.hint).toContain("systemd 252 has no RestartSteps= backoff");
    expect(limit(lines, {}, 254)[0]?.hint).toContain("on systemd 254 and newer");
  });
});

describe("service-stop-timeout", () => {
  /** The unit, with its home (named by Environment=HERMES_HOME) holding this config. */
  function withConfig(config: string | undefined, changes: Record<string, string | null>) {
    const { root, unit } = installUnits([{ name: MAIN, text: good(changes) }]);
    if (config !== undefined) writeFile(root, "var/lib/hermes/config.yaml", config);
    return lintUnit(unit, { systemd: fakeSystemd(252), root }).filter(
      (d) => d.rule === "service-stop-timeout",
    );
  }

  it("reads gateway.drain_timeout from the home the unit names", () => {
    const [d] = withConfig("gateway:\n  drain_timeout: 2m\n", { TimeoutStopSec: "90" });
    expect(d?.message).toContain("shutdown deadline of 130 s");
    expect(d?.message).toContain("gateway.drain_timeout in /var/lib/hermes/config.yaml");
    expect(d?.hint).toBe("set TimeoutStopSec=135 in [Service] (anything above 130 s)");
    expect(withConfig("gateway:\n  drain_timeout: 2m\n", { TimeoutStopSec: "2min 11s" })).toEqual([]);
  });

  it("uses the default drain when the home has no config, and systemd's 90 s when nothing is set", () => {
    expect(withConfig(undefined, { TimeoutStopSec: "40" })[0]?.message).toContain(
      "a drain of 30 s, the default, as /var/lib/hermes/config.yaml does not set gateway.drain_timeout",
    );
    expect(withConfig(undefined, { TimeoutStopSec: "41" })).toEqual([]);
    expect(withConfig("gateway:\n  drain_timeout: 85s\n", { TimeoutStopSec: null })[0]?.message).toContain(
      "systemd's default of 90 s",
    );
  });

  it("takes TimeoutSec= and TimeoutStopSec= in order, and 0 or infinity as no timeout", () => {
    expect(withConfig(undefined, { TimeoutStopSec: "0" })).toEqual([]);
    expect(withConfig(undefined, { TimeoutStopSec: "infinity" })).toEqual([]);
    expect(withConfig(undefined, { TimeoutStopSec: null, TimeoutSec: "20" })[0]?.path).toBe(
      "Service.TimeoutSec",
    );
  });

  it("falls back to the default drain when the config cannot be used, and says so", () => {
    const broken = "gateway: [unclosed\n";
    const [short] = withConfig(broken, { TimeoutStopSec: "30" });
    expect(short?.severity).toBe("error");
    expect(short?.message).toContain("does not parse, so the default was used");
    const [info] = withConfig(broken, { TimeoutStopSec: "60" });
    expect(info?.severity).toBe("info");
    expect(info?.message).toContain("checked against the default drain");
  });

  it("says which file it could not read and where the home came from", () => {
    const { root, unit } = installUnits([{ name: MAIN, text: good({ TimeoutStopSec: null }) }]);
    mkdirSync(join(root, "var/lib/hermes/config.yaml"), { recursive: true });
    const [d] = lintUnit(unit, { systemd: fakeSystemd(252), root }).filter(
      (x) => x.rule === "service-stop-timeout",
    );
    expect(d?.severity).toBe("info");
    expect(d?.message).toContain("is a directory, not a file (the home comes from Environment=HERMES_HOME)");
    expect(d?.message).toContain("systemd's default stop timeout (90 s) is longer than 40 s");
    expect(d?.hint).toContain("--home");
  });

  it("finds the home through ExecStart --home, User=, and --home of the command line", () => {
    const { root, unit } = installUnits([
      { name: MAIN, text: good({ Environment: null, User: "svc", TimeoutStopSec: "60" }) },
    ]);
    mkdirSync(join(root, "etc"), { recursive: true });
    writeFileSync(
      join(root, "etc", "passwd"),
      "root:x:0:0::/root:/bin/sh\nsvc:x:900:900::/srv/svc:/bin/false\n",
    );
    writeFile(root, "srv/svc/.hermes/config.yaml", "gateway:\n  drain_timeout: 1m\n");
    const [viaUser] = lintUnit(unit, { systemd: fakeSystemd(252), root }).filter(
      (d) => d.rule === "service-stop-timeout",
    );
    expect(viaUser?.message).toContain("/srv/svc/.hermes/config.yaml");

    const viaFlag = installUnits([
      {
        name: MAIN,
        text: good({ ExecStart: "/usr/local/bin/hermes --home /opt/h gateway run", TimeoutStopSec: "60" }),
      },
    ]);
    writeFile(viaFlag.root, "opt/h/config.yaml", "gateway:\n  drain_timeout: 55s\n");
    expect(
      lintUnit(viaFlag.unit, { systemd: fakeSystemd(252), root: viaFlag.root }).map((d) => d.rule),
    ).toContain("service-stop-timeout");

    const home = makeHome({ config: "gateway:\n  drain_timeout: 5m\n" });
    const [viaOption] = lintUnitFiles([{ name: MAIN, text: GOOD }], { home }).filter(
      (d) => d.rule === "service-stop-timeout",
    );
    expect(viaOption?.message).toContain("a drain of 300 s");
  });
});

describe("service-watchdog-type", () => {
  it("finds WatchdogSec without Type=notify, and says what happens without a notification socket", () => {
    const [d] = found("service-watchdog-type", good({ Type: "simple", NotifyAccess: null }));
    expect(d?.message).toContain("never arrives and systemd kills it every 60 s");
    expect(found("service-watchdog-type", good({ Type: null }))[0]?.message).toContain("Type=simple");
    expect(found("service-watchdog-type", good({ Type: "exec" }))[0]?.message).toContain(
      "does not wait for READY=1",
    );
  });

  it("is quiet with no watchdog or Type=notify; notify-reload counts only where systemd knows it", () => {
    expect(found("service-watchdog-type", good({ Type: "simple", WatchdogSec: "0" }))).toEqual([]);
    expect(found("service-watchdog-type", good({ Type: "simple", WatchdogSec: null }))).toEqual([]);
    const reload = good({ Type: "notify-reload" });
    expect(found("service-watchdog-type", reload, [], { systemd: fakeSystemd(253) })).toEqual([]);
    expect(found("service-watchdog-type", reload, [], { systemd: fakeSystemd(252) })).toHaveLength(1);
  });
});

describe("service-unknown-key, from hermes's own list (no systemd-analyze)", () => {
  const keys = (text: string, version: number | null, dropIns: string[] = []) =>
    found("service-unknown-key", text, dropIns, { systemd: fakeSystemd(version) });

  it("flags a 254 key on 252, not on 254 or when the version is unknown", () => {
    const text = good({}, "RestartSteps=5\nRestartMaxDelaySec=300\n");
    const on252 = keys(text, 252);
    expect(on252.map((d) => d.message)).toEqual([
      "systemd 252 does not know RestartSteps= (it came with systemd 254), so it ignores it",
      "systemd 252 does not know RestartMaxDelaySec= (it came with systemd 254), so it ignores it",
    ]);
    expect(on252[0]).toMatchObject({ severity: "warning", line: 17, path: "Service.RestartSteps" });
    expect(keys(text, 254)).toEqual([]);
    expect(keys(text, null)).toEqual([]);
  });

  it("suggests the key meant, or the section it belongs in; accepts X- keys and sections", () => {
    expect(keys(good({}, "RestartSecs=10\n"), 252)[0]?.hint).toBe("did you mean RestartSec=?");
    expect(keys(good({}, "StartLimitIntervalSec=0\n"), 252)[0]?.hint).toBe(
      "StartLimitIntervalSec= belongs in [Unit]",
    );
    expect(keys(good({}, "X-Note=mine\n[X-Ours]\nAnything=1\n"), 252)).toEqual([]);
    const [section] = keys(good({}, "[Servce]\nRestart=always\n"), 252);
    expect(section?.hint).toBe("did you mean [Service]?");
  });

  it("reports lines systemd ignores, in drop-ins too", () => {
    const d = keys(GOOD, 252, ["Restart=always\n[Service]\nRestart always\n"]);
    expect(d.map((x) => [x.line, x.message])).toEqual([
      [1, "Restart= stands before any [Section], so systemd ignores it"],
      [3, '"Restart always" has no "=", so systemd ignores the line'],
    ]);
  });
});

const analyze = thisSystemd().unknownKeys(installUnits([{ name: MAIN, text: GOOD }]).unit);
if (analyze === null)
  console.log("skipping the systemd-analyze tests of service-unknown-key: it cannot be run here");
describe.runIf(analyze !== null)("service-unknown-key, from systemd-analyze verify", () => {
  it("maps its lines back to the unit and the drop-in, at the key, through continued lines", () => {
    const text = good({}, "Nonsense=1 \\\n  2\n");
    const d = found("service-unknown-key", text, ["[Service]\nBogus=1\n[Servce]\nX=1\n"]);
    expect(d.map((x) => [x.file?.split("/").at(-1), x.line, x.path])).toEqual([
      [MAIN, 17, "Service.Nonsense"],
      ["0-x.conf", 2, "Service.Bogus"],
      ["0-x.conf", 3, "Servce"],
    ]);
  });

  it("is not stopped by a relative ExecStart=, which makes systemd stop parsing", () => {
    const text = good({ ExecStart: "bin/hermes gateway run" }, "Nonsense=1\n");
    expect(found("service-unknown-key", text).map((x) => x.path)).toEqual(["Service.Nonsense"]);
  });
});

describe("service-exec-path", () => {
  it("finds a missing ExecStart, also after a drop-in resets it", () => {
    expect(found("service-exec-path", good({ ExecStart: null }))[0]?.message).toBe(
      "[Service] has no ExecStart=: systemd refuses to start the unit",
    );
    expect(found("service-exec-path", GOOD, ["[Service]\nExecStart=\n"])).toHaveLength(1);
  });

  it("finds relative paths and bare names, and a command systemd cannot split", () => {
    expect(found("service-exec-path", good({ ExecStart: "bin/hermes gateway run" }))[0]?.message).toContain(
      "is a relative path",
    );
    expect(found("service-exec-path", good({ ExecStart: "hermes gateway run" }))[0]?.message).toContain(
      "its own fixed PATH",
    );
    expect(
      found("service-exec-path", good({ ExecStart: '"/usr/local/bin/hermes gateway run' }))[0]?.message,
    ).toContain("unterminated double quote");
  });

  it("checks that the program exists and is executable, after prefixes and quotes", () => {
    const missing = found("service-exec-path", GOOD, [], { binaries: false });
    expect(missing[0]?.message).toBe(
      "ExecStart= names /usr/local/bin/hermes, which does not exist on this machine: systemd cannot start the unit",
    );
    expect(missing[0]).toMatchObject({ line: 9, column: 11 });

    // A root of its own holds the programs, as they would be on the machine.
    const root = tempDir();
    writeFile(root, "opt/my app/hermes", "#!/bin/sh\n", 0o644);
    const { unit } = installUnits(
      [{ name: MAIN, text: good({ ExecStart: `-@"/opt/my app/hermes" hermes run` }) }],
      false,
    );
    const notExec = lintUnit(unit, { systemd: fakeSystemd(252), root }).filter(
      (d) => d.rule === "service-exec-path",
    );
    expect(notExec[0]?.message).toContain("/opt/my app/hermes, which is not executable");

    mkdirSync(join(root, "opt", "dir"), { recursive: true });
    const { unit: dirUnit } = installUnits(
      [{ name: MAIN, text: good({ ExecStart: "/opt/dir run" }) }],
      false,
    );
    expect(
      lintUnit(dirUnit, { systemd: fakeSystemd(252), root }).find((d) => d.rule === "service-exec-path")
        ?.message,
    ).toContain("is a directory");
    expect(found("service-exec-path", good({ ExecStart: `-@"/opt/my app/hermes" hermes run` }))).toEqual([]);
  });

  it("leaves a specifier alone: it is resolved by systemd", () => {
    expect(
      found("service-exec-path", good({ ExecStart: "%h/.local/bin/hermes gateway run" }), [], {
        binaries: false,
      }),
    ).toEqual([]);
  });
});
