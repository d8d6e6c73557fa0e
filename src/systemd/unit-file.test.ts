import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  dropInDirs,
  findDropIns,
  loadUnit,
  parseCommand,
  parseEnvironment,
  parseStatusSet,
  parseTimeSpan,
  parseUnitText,
  splitWords,
  Unit,
} from "./unit-file.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), "unit-file-test-"));
  dirs.push(d);
  return d;
}
function put(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const unitOf = (text: string, ...dropIns: string[]) =>
  new Unit(
    "hermes-gateway.service",
    parseUnitText(text, "/u/hermes-gateway.service"),
    dropIns.map((t, i) => parseUnitText(t, `/u/hermes-gateway.service.d/${i}.conf`)),
  );

describe("parseUnitText", () => {
  it("reads sections and assignments with the positions of their keys and values", () => {
    const file = parseUnitText(
      "[Unit]\nDescription = hermes \n\n[Service]\n  Restart=always\n",
      "/x.service",
    );
    expect(file.sections.map((s) => [s.name, s.line])).toEqual([
      ["Unit", 1],
      ["Service", 4],
    ]);
    expect(file.assignments.map((a) => [a.section, a.key, a.value, a.line, a.column])).toEqual([
      ["Unit", "Description", "hermes", 2, 1],
      ["Service", "Restart", "always", 5, 3],
    ]);
    expect(file.assignments[1]!.at(0)).toEqual({ line: 5, column: 11 });
    expect(file.problems).toEqual([]);
  });

  it("skips # and ; comments; a # later in the line is part of the value", () => {
    const file = parseUnitText("[Service]\n# c\n ; c\nEnvironment=A=1 # not a comment\n", "/x");
    expect(file.assignments.map((a) => a.value)).toEqual(["A=1 # not a comment"]);
  });

  it("joins a line ending in a backslash with the next, across comment lines, and maps offsets back", () => {
    const text =
      "[Service]\nExecStart=/usr/bin/hermes \\\n# a comment inside\n  gateway \\\n  run --replace\nType=notify\n";
    const file = parseUnitText(text, "/x");
    const exec = file.assignments[0]!;
    expect(exec.value).toBe("/usr/bin/hermes    gateway    run --replace");
    expect([exec.line, exec.endLine]).toEqual([2, 5]);
    expect(exec.at(exec.value.indexOf("--replace"))).toEqual({ line: 5, column: 7 });
    expect(file.assignments[1]).toMatchObject({ key: "Type", line: 6 });
  });

  it("does not continue a line that ends in an escaped backslash", () => {
    const file = parseUnitText("[Service]\nEnvironment=A=x\\\\\nType=notify\n", "/x");
    expect(file.assignments.map((a) => a.key)).toEqual(["Environment", "Type"]);
  });

  it("reports what systemd ignores: no =, an assignment before any section, a broken header", () => {
    const file = parseUnitText("Restart=always\n[Service]\nnonsense\n[Broken\nType=notify\n", "/x");
    expect(file.problems.map((p) => [p.line, p.message])).toEqual([
      [1, "Restart= stands before any [Section], so systemd ignores it"],
      [3, '"nonsense" has no "=", so systemd ignores the line'],
      [4, '"[Broken" is not a valid section header'],
      [5, "Type= stands before any [Section], so systemd ignores it"],
    ]);
  });

  it("accepts CRLF line ends and a byte order mark", () => {
    const file = parseUnitText("\uFEFF[Service]\r\nRestart=always\r\n", "/x");
    expect(file.assignments[0]).toMatchObject({ section: "Service", value: "always", line: 2 });
  });
});

describe("Unit", () => {
  it("applies drop-ins after the unit: the last valid scalar wins, an unparsable one is ignored", () => {
    const unit = unitOf("[Service]\nRestartSec=10\n", "[Service]\nRestartSec=banana\n");
    const setting = unit.scalar("Service.RestartSec", parseTimeSpan);
    expect(setting?.value).toBe(10_000);
    expect(setting?.at.line).toBe(2);
    expect(setting?.ignored?.value).toBe("banana");
  });

  it("lets an empty assignment reset a list, in a drop-in too", () => {
    const unit = unitOf(
      "[Service]\nExecStart=/a\nRestartPreventExitStatus=78\n",
      "[Service]\nExecStart=\nExecStart=/b --x\nRestartPreventExitStatus=\n",
    );
    expect(unit.list("Service.ExecStart").map((a) => a.value)).toEqual(["/b --x"]);
    expect(unit.list("Service.RestartPreventExitStatus")).toEqual([]);
  });

  it("takes the last line among several keys for one setting, whichever section it is in", () => {
    const unit = unitOf("[Unit]\nStartLimitIntervalSec=10\n[Service]\nStartLimitInterval=0\n");
    const setting = unit.scalar(["Unit.StartLimitIntervalSec", "Service.StartLimitInterval"], parseTimeSpan);
    expect(setting?.value).toBe(0);
  });
});

describe("drop-ins", () => {
  it("are looked up for the name, its dash prefixes, a template, then the type, per directory", () => {
    expect(
      dropInDirs("hermes-gateway-a.service", ["/etc/systemd/system", "/usr/lib/systemd/system"]),
    ).toEqual([
      "/etc/systemd/system/hermes-gateway-a.service.d",
      "/etc/systemd/system/hermes-gateway-.service.d",
      "/etc/systemd/system/hermes-.service.d",
      "/usr/lib/systemd/system/hermes-gateway-a.service.d",
      "/usr/lib/systemd/system/hermes-gateway-.service.d",
      "/usr/lib/systemd/system/hermes-.service.d",
      "/etc/systemd/system/service.d",
      "/usr/lib/systemd/system/service.d",
    ]);
    expect(dropInDirs("hermes-gateway@x.service", ["/d"])).toContain("/d/hermes-gateway@.service.d");
  });

  it("are applied in file-name order across directories; a name in a higher directory masks a lower one", () => {
    const root = scratch();
    const etc = join(root, "etc");
    const lib = join(root, "lib");
    put(etc, "hermes-gateway.service.d/20-b.conf", "[Service]\nRestart=on-failure\n");
    put(lib, "hermes-gateway.service.d/20-b.conf", "[Service]\nRestart=no\n");
    put(lib, "hermes-.service.d/10-a.conf", "[Service]\nRestart=always\n");
    put(etc, "service.d/30-c.conf", "[Service]\nRestartSec=3\n");
    put(etc, "hermes-gateway.service.d/notes.txt", "ignored");
    const found = findDropIns(dropInDirs("hermes-gateway.service", [etc, lib]));
    expect(found).toEqual([
      join(lib, "hermes-.service.d/10-a.conf"),
      join(etc, "hermes-gateway.service.d/20-b.conf"),
      join(etc, "service.d/30-c.conf"),
    ]);
  });

  it("overriding Restart= changes what the unit says", () => {
    const root = scratch();
    const path = put(root, "hermes-gateway.service", "[Service]\nRestart=always\nRestartSec=10\n");
    put(root, "hermes-gateway.service.d/override.conf", "[Service]\nRestart=on-failure\n");
    const unit = loadUnit(path, [root]);
    expect(unit.files).toEqual([path, join(root, "hermes-gateway.service.d/override.conf")]);
    const restart = unit.scalar("Service.Restart", (v) => v);
    expect(restart?.value).toBe("on-failure");
    expect(restart?.at.file).toBe(join(root, "hermes-gateway.service.d/override.conf"));
  });
});

describe("parseTimeSpan", () => {
  it.each([
    ["500ms", 500],
    ["2s", 2000],
    ["2", 2000],
    ["1.5", 1500],
    ["1min 30s", 90_000],
    ["1min30s", 90_000],
    ["1h30m", 5_400_000],
    ["2 min", 120_000],
    ["5min 30", 330_000],
    ["1 hour 1 sec", 3_601_000],
    ["0", 0],
    ["250us", 0.25],
    ["1w", 604_800_000],
  ])("%s is %d ms", (text, ms) => {
    expect(parseTimeSpan(text)).toBe(ms);
  });

  it("reads infinity, and rejects what systemd rejects", () => {
    expect(parseTimeSpan("infinity")).toBe(Number.POSITIVE_INFINITY);
    for (const bad of [
      "",
      "five",
      "-1",
      "10 parsecs",
      "1.2.3",
      "1.",
      "1.s",
      "2ss",
      "3mins",
      "infinity 2s",
      "s",
    ])
      expect(parseTimeSpan(bad), bad).toBeUndefined();
  });

  // systemd-analyze timespan runs systemd's own parser: where it is installed, it is the reference.
  const analyze = spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" });
  const hasAnalyze = analyze.status === 0;
  if (!hasAnalyze)
    console.log("skipping the systemd-analyze timespan comparison: systemd-analyze is not installed");
  it.runIf(hasAnalyze)("agrees with systemd-analyze timespan", () => {
    const inputs = [
      "500ms",
      "2s",
      "2",
      "1.5",
      ".5",
      "00.50",
      "1min 30s",
      "1min30s",
      "1h30m",
      "1h 30",
      "2 3",
      "1 .5",
      "1s.5",
      "1s2",
      "1 s2",
      "+2",
      "2 5ms",
      "1 hour 1 sec",
      "2seconds",
      "2msec",
      "1y",
      "1M",
      "1w 2d",
      "250us",
      "0",
      "1.2.3",
      "1.",
      "1.s",
      "2ss",
      "2secs",
      "3mins",
      "5 m s",
      "1,5",
      "1e3",
      "10 parsecs",
      "five",
      "s",
    ];
    for (const input of inputs) {
      const run = spawnSync("systemd-analyze", ["timespan", input], { encoding: "utf8", timeout: 10_000 });
      const micros = /μs: (\d+)/.exec(run.stdout ?? "");
      const expected = micros ? Number(micros[1]) / 1000 : undefined;
      expect(parseTimeSpan(input), input).toBe(expected);
    }
  });
});

describe("parseStatusSet", () => {
  const set = (...values: string[]) =>
    parseStatusSet(parseUnitText(`[Service]\n${values.map((v) => `X=${v}`).join("\n")}\n`, "/x").assignments);

  it("reads codes, exit-status names and signals, adding up over lines", () => {
    const { set: s, rejected } = set("75 SIGUSR1", "TEMPFAIL CONFIG", "USR2 0");
    expect([...s.codes].sort((a, b) => a - b)).toEqual([0, 75, 78]);
    expect([...s.signals].sort()).toEqual(["SIGUSR1", "SIGUSR2"]);
    expect(rejected).toEqual([]);
  });

  it("empties on an empty assignment and sets aside words systemd rejects", () => {
    const { set: s, rejected } = set("75", "", "0 75 300 SIGNOPE");
    expect([...s.codes]).toEqual([0, 75]);
    expect(rejected).toEqual(["300", "SIGNOPE"]);
  });
});

describe("parseCommand", () => {
  it("splits into the executable and argv, with prefixes", () => {
    expect(parseCommand("-/usr/local/bin/hermes gateway run")).toEqual({
      prefixes: "-",
      path: "/usr/local/bin/hermes",
      argv: ["/usr/local/bin/hermes", "gateway", "run"],
    });
    expect(parseCommand("+!/bin/hermes x")).toMatchObject({ prefixes: "+!", path: "/bin/hermes" });
    expect(parseCommand("@/usr/bin/python3 hermes-gateway -m x")).toEqual({
      prefixes: "@",
      path: "/usr/bin/python3",
      argv: ["hermes-gateway", "-m", "x"],
    });
  });

  it("unquotes, decodes escapes, and stops at a lone ;", () => {
    expect(parseCommand(`"/opt/my apps/hermes" --home '/var/lib/a b' x\\ty ; /bin/echo`).argv).toEqual([
      "/opt/my apps/hermes",
      "--home",
      "/var/lib/a b",
      "x\ty",
    ]);
    expect(parseCommand("/bin/echo a\\;b \\; c").argv).toEqual(["/bin/echo", "a;b", ";", "c"]);
    expect(parseCommand('/bin/sh -c "hermes gateway run --replace"').argv.at(-1)).toBe(
      "hermes gateway run --replace",
    );
    expect(splitWords(`a"b c"d \\x41\\101`)).toEqual(["ab cd", "AA"]);
  });

  it("throws a reason where systemd refuses the line", () => {
    expect(() => parseCommand('/bin/hermes "unterminated')).toThrow("unterminated double quote");
    expect(() => parseCommand("/bin/hermes \\q")).toThrow("escape");
    expect(() => parseCommand("-")).toThrow("no program");
    expect(() => parseCommand("@/bin/hermes")).toThrow("argv[0]");
  });
});

describe("parseEnvironment", () => {
  it("reads quoted KEY=value words; later wins; an empty assignment clears", () => {
    const file = parseUnitText(
      '[Service]\nEnvironment="HERMES_HOME=/a b" X=1\nEnvironment=X=2\nEnvironment=\nEnvironment=Y=3 "Z=4"\n',
      "/x",
    );
    const env = parseEnvironment(file.assignments);
    expect(Object.fromEntries([...env].map(([k, v]) => [k, v.value]))).toEqual({ Y: "3", Z: "4" });
    const before = parseEnvironment(file.assignments.slice(0, 2));
    expect(before.get("HERMES_HOME")?.value).toBe("/a b");
    expect(before.get("X")?.value).toBe("2");
  });
});
