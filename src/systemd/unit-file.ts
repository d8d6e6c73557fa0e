/**
 * systemd unit files as systemd reads them (systemd.syntax(7), systemd.unit(5), systemd.service(5)):
 * sections, `Key=value` assignments with their positions, `\` line continuations, `#`/`;` comments,
 * repeated keys (an empty assignment resets a list), drop-ins applied after the unit in name order, and
 * the value syntaxes the lint rules need: command lines, time spans, exit-status sets, environment lists.
 * Values systemd would reject are kept as written: systemd ignores such an assignment, and so do the
 * accessors here, which is what the rules must reason about.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** A line systemd ignores while parsing (it logs it and goes on). */
export interface ParseProblem {
  file: string;
  line: number;
  column: number;
  message: string;
}

export interface SectionHeader {
  name: string;
  file: string;
  line: number;
  column: number;
}

/** One `Key=value` line (continuations joined), with where its key and value start. */
export interface Assignment {
  section: string;
  key: string;
  /** The value with surrounding whitespace removed, continuation backslashes turned into spaces. */
  value: string;
  file: string;
  line: number;
  column: number;
  /** The last line of a continued assignment (`line` when it is not continued). */
  endLine: number;
  /** Maps an offset in `value` to its line and column in the file (continued values span lines). */
  at(offset: number): { line: number; column: number };
}

export interface UnitFile {
  path: string;
  text: string;
  sections: SectionHeader[];
  assignments: Assignment[];
  problems: ParseProblem[];
}

const COMMENT = /^[#;]/;

/** Parses the text of one unit file or drop-in. Never throws: what systemd ignores becomes a problem. */
export function parseUnitText(text: string, file: string): UnitFile {
  const sections: SectionHeader[] = [];
  const assignments: Assignment[] = [];
  const problems: ParseProblem[] = [];
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  let section: string | undefined;

  // A logical line: its pieces, each with the file position of its first character.
  let pieces: { text: string; line: number; column: number }[] = [];
  const flush = () => {
    if (pieces.length === 0) return;
    const logical = pieces;
    pieces = [];
    handle(logical);
  };

  const handle = (logical: { text: string; line: number; column: number }[]) => {
    let joined = "";
    const starts: { offset: number; line: number; column: number }[] = [];
    for (const piece of logical) {
      starts.push({ offset: joined.length, line: piece.line, column: piece.column });
      joined += piece.text;
    }
    const position = (offset: number) => {
      let start = starts[0]!;
      for (const s of starts) if (s.offset <= offset) start = s;
      return { line: start.line, column: start.column + (offset - start.offset) };
    };
    const lead = joined.length - joined.trimStart().length;
    const body = joined.trim();
    const where = position(lead);
    if (body.startsWith("[")) {
      if (!body.endsWith("]") || body.length < 3) {
        problems.push({ file, ...where, message: `"${body}" is not a valid section header` });
        section = undefined;
        return;
      }
      section = body.slice(1, -1);
      sections.push({ name: section, file, ...where });
      return;
    }
    const eq = body.indexOf("=");
    if (eq < 0) {
      problems.push({ file, ...where, message: `"${clip(body)}" has no "=", so systemd ignores the line` });
      return;
    }
    if (section === undefined) {
      problems.push({
        file,
        ...where,
        message: `${body.slice(0, eq).trim()}= stands before any [Section], so systemd ignores it`,
      });
      return;
    }
    const key = body.slice(0, eq).trim();
    const rawValue = body.slice(eq + 1);
    const valueLead = rawValue.length - rawValue.trimStart().length;
    const valueOffset = lead + eq + 1 + valueLead;
    assignments.push({
      section,
      key,
      value: rawValue.trim(),
      file,
      line: where.line,
      column: where.column,
      endLine: logical.at(-1)!.line,
      at: (offset: number) => position(valueOffset + offset),
    });
  };

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const lineNo = i + 1;
    const trimmed = raw.trimStart();
    // Comment lines inside a continued line are skipped, and the continuation goes on after them.
    if (trimmed === "" && pieces.length === 0) continue;
    if (COMMENT.test(trimmed)) continue;
    if (endsWithContinuation(raw)) {
      pieces.push({ text: `${raw.slice(0, -1)} `, line: lineNo, column: 1 });
      continue;
    }
    pieces.push({ text: raw, line: lineNo, column: 1 });
    flush();
  }
  flush();
  return { path: file, text, sections, assignments, problems };
}

/** A backslash ends the line unless it is itself escaped (`\\`). */
function endsWithContinuation(line: string): boolean {
  let count = 0;
  for (let i = line.length - 1; i >= 0 && line[i] === "\\"; i--) count++;
  return count % 2 === 1;
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** Which directories of which scope a unit lives in decides where its drop-ins are looked up. */
export type Scope = "system" | "user";

/**
 * The unit search path of a scope, highest priority first (systemd.unit(5), "Unit File Load Path"), with the
 * `.control` directories where `systemctl set-property` writes its drop-ins.
 */
export function searchPath(
  scope: Scope,
  env: { home: string; xdgConfigHome?: string; uid?: number },
): string[] {
  if (scope === "system") {
    return [
      "/etc/systemd/system.control",
      "/run/systemd/system.control",
      "/run/systemd/transient",
      "/etc/systemd/system",
      "/run/systemd/system",
      "/usr/local/lib/systemd/system",
      "/usr/lib/systemd/system",
      "/lib/systemd/system",
    ];
  }
  const config = join(env.xdgConfigHome || join(env.home, ".config"), "systemd");
  const runtime = env.uid !== undefined ? [`/run/user/${env.uid}/systemd`] : [];
  return [
    join(config, "user.control"),
    ...runtime.map((r) => `${r}/user.control`),
    ...runtime.map((r) => `${r}/transient`),
    join(config, "user"),
    "/etc/systemd/user",
    ...runtime.map((r) => `${r}/user`),
    "/run/systemd/user",
    join(env.home, ".local", "share", "systemd", "user"),
    "/usr/local/lib/systemd/user",
    "/usr/lib/systemd/user",
  ];
}

/** Where units are installed by hand or by `hermes install-service`, per scope. */
export function unitDir(scope: Scope, env: { home: string; xdgConfigHome?: string }): string {
  return scope === "system"
    ? "/etc/systemd/system"
    : join(env.xdgConfigHome || join(env.home, ".config"), "systemd", "user");
}

/**
 * The drop-in directories of a unit, highest priority first: for each directory of the search path, the
 * unit's own `NAME.d/` and then its dash prefixes (`hermes-gateway-x.service` → `hermes-gateway-.service.d/`,
 * `hermes-.service.d/`); after all of those, the type-wide `service.d/`. This is systemd's order
 * (src/shared/dropin.c), and it matters only when two drop-ins share a file name: the first one wins.
 */
export function dropInDirs(unitName: string, dirs: readonly string[]): string[] {
  const dot = unitName.lastIndexOf(".");
  const stem = dot > 0 ? unitName.slice(0, dot) : unitName;
  const suffix = dot > 0 ? unitName.slice(dot) : ".service";
  const names = [`${unitName}.d`];
  // A template instance (`foo@bar.service`) also reads `foo@.service.d/`.
  const at = stem.indexOf("@");
  if (at > 0 && at < stem.length - 1) names.push(`${stem.slice(0, at + 1)}${suffix}.d`);
  for (let i = stem.lastIndexOf("-"); i > 0; i = stem.lastIndexOf("-", i - 1)) {
    names.push(`${stem.slice(0, i + 1)}${suffix}.d`);
  }
  const out: string[] = [];
  for (const dir of dirs) for (const name of names) out.push(join(dir, name));
  for (const dir of dirs) out.push(join(dir, `${suffix.slice(1)}.d`));
  return out;
}

/** The `.conf` files of those directories, deduplicated by file name (first wins), in name order. */
export function findDropIns(dirs: readonly string[]): string[] {
  const byName = new Map<string, string>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!name.endsWith(".conf") || byName.has(name)) continue;
      const path = join(dir, name);
      try {
        if (!statSync(path).isFile()) continue;
      } catch {
        continue;
      }
      byName.set(name, path);
    }
  }
  return [...byName.keys()].sort().map((name) => byName.get(name)!);
}

/** A unit with its drop-ins applied: the view systemd has after loading it. */
export class Unit {
  readonly assignments: readonly Assignment[];
  readonly sections: readonly SectionHeader[];
  readonly problems: readonly ParseProblem[];

  constructor(
    /** The unit's name (`hermes-gateway.service`). */
    readonly name: string,
    readonly main: UnitFile,
    readonly dropIns: readonly UnitFile[] = [],
  ) {
    const files = [main, ...dropIns];
    this.assignments = files.flatMap((f) => f.assignments);
    this.sections = files.flatMap((f) => f.sections);
    this.problems = files.flatMap((f) => f.problems);
  }

  get files(): string[] {
    return [this.main.path, ...this.dropIns.map((d) => d.path)];
  }

  /** Every assignment to one of these keys (`"Service.Restart"`), in the order systemd applies them. */
  all(...keys: string[]): Assignment[] {
    return this.assignments.filter((a) => keys.includes(`${a.section}.${a.key}`));
  }

  /**
   * The assignment in force for a scalar setting: the last one whose value `parse` accepts, since systemd
   * logs and ignores one it cannot parse. Several keys may set the same thing (`Unit.StartLimitIntervalSec`
   * and the older `Service.StartLimitInterval`); the last line wins whichever it is.
   */
  scalar<T>(keys: string | string[], parse: (value: string) => T | undefined): Setting<T> | undefined {
    const written = this.all(...(Array.isArray(keys) ? keys : [keys]));
    const last = written.at(-1);
    for (let i = written.length - 1; i >= 0; i--) {
      const value = parse(written[i]!.value);
      if (value !== undefined)
        return { value, at: written[i]!, ignored: last === written[i] ? undefined : last };
    }
    return last ? { value: undefined, at: last, ignored: last } : undefined;
  }

  /** The assignments of a list setting still in force: those after the last empty assignment, which resets it. */
  list(...keys: string[]): Assignment[] {
    const written = this.all(...keys);
    let start = 0;
    written.forEach((a, i) => {
      if (a.value === "") start = i + 1;
    });
    return written.slice(start);
  }

  /** Where to report a finding about a section that has no line of its own: its header, else the file's top. */
  sectionAt(name: string): { file: string; line: number; column: number } {
    const header = this.sections.find((s) => s.name === name && s.file === this.main.path);
    return header ?? { file: this.main.path, line: 1, column: 1 };
  }
}

/**
 * A scalar setting as systemd sees it. `value` is undefined when every assignment was one systemd ignores;
 * `ignored` is the last line written when systemd ignored it (so a message can say so).
 */
export interface Setting<T> {
  value: T | undefined;
  at: Assignment;
  ignored?: Assignment;
}

/** Reads a unit file and the drop-ins found in `dropInSearch` (directories of the unit's search path). */
export function loadUnit(path: string, dropInSearch: readonly string[]): Unit {
  const name = basename(path);
  const main = parseUnitText(readFileSync(path, "utf8"), path);
  const dropIns = findDropIns(dropInDirs(name, dropInSearch)).map((file) =>
    parseUnitText(readFileSync(file, "utf8"), file),
  );
  return new Unit(name, main, dropIns);
}

/** The directory a unit file lives in, first, then the rest of its scope's search path if it is in one. */
export function dropInSearchFor(path: string, scopes: Record<Scope, string[]>): string[] {
  const dir = dirname(path);
  for (const dirs of Object.values(scopes)) if (dirs.includes(dir)) return dirs;
  return [dir];
}

// ---------------------------------------------------------------------------------------------------------
// Values

/** A time span in milliseconds; `Infinity` for `infinity`. */
export type Span = number;

const TIME_UNITS: [string, number][] = [
  // Longest spellings first, so `ms` is not read as `m` followed by garbage.
  ["seconds", 1000],
  ["second", 1000],
  ["sec", 1000],
  ["s", 1000],
  ["minutes", 60_000],
  ["minute", 60_000],
  ["min", 60_000],
  ["months", 2_629_800_000],
  ["month", 2_629_800_000],
  ["msec", 1],
  ["ms", 1],
  ["m", 60_000],
  ["M", 2_629_800_000],
  ["hours", 3_600_000],
  ["hour", 3_600_000],
  ["hr", 3_600_000],
  ["h", 3_600_000],
  ["days", 86_400_000],
  ["day", 86_400_000],
  ["d", 86_400_000],
  ["weeks", 604_800_000],
  ["week", 604_800_000],
  ["w", 604_800_000],
  ["years", 31_557_600_000],
  ["year", 31_557_600_000],
  ["y", 31_557_600_000],
  ["usec", 0.001],
  ["us", 0.001],
  ["µs", 0.001],
  ["μs", 0.001],
  ["nsec", 0.000_001],
  ["ns", 0.000_001],
];

/**
 * Parses a systemd time span (systemd.time(7)): `infinity`, or numbers each followed by an optional unit,
 * optionally separated by spaces: `500ms`, `2s`, `1min 30s`, `1h30m`, `1.5s`. A bare number is seconds.
 * Returns undefined where systemd would reject it.
 */
export function parseTimeSpan(text: string): Span | undefined {
  const input = text.trim();
  if (input === "infinity") return Number.POSITIVE_INFINITY;
  if (input === "") return undefined;
  let total = 0;
  let rest = input;
  while (rest !== "") {
    const number = /^\+?(\d+(?:\.\d+)?|\.\d+)/.exec(rest);
    // "1." and "1.2.3" are not numbers to systemd.
    if (!number || rest[number[0].length] === ".") return undefined;
    rest = rest.slice(number[0].length);
    const spaced = /^\s*/.exec(rest)![0].length;
    rest = rest.slice(spaced);
    const unit = TIME_UNITS.find(
      ([name]) => rest.startsWith(name) && !/^[A-Za-zµμ]/.test(rest.slice(name.length)),
    );
    // Without a unit, the number must stand alone: "2ss" and "3mins" are rejected, "2 3" is 5 s.
    if (!unit && spaced === 0 && rest !== "") return undefined;
    if (unit) rest = rest.slice(unit[0].length);
    total += Number(number[1]) * (unit ? unit[1] : 1000);
    rest = rest.trimStart();
  }
  return total;
}

/** `1500` → `1.5 s`, `90000` → `90 s`, `Infinity` → `infinity`: for messages. */
export function formatSpan(ms: Span): string {
  if (ms === Number.POSITIVE_INFINITY) return "infinity";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : Number(s.toFixed(3))} s`;
}

/** A non-negative integer, as systemd's unsigned settings take it. */
export function parseUnsigned(text: string): number | undefined {
  return /^\s*\d+\s*$/.test(text) ? Number(text) : undefined;
}

// Exit status names systemd accepts in place of numbers (src/basic/exit-status.c): generic, LSB and BSD.
const EXIT_NAMES: Record<string, number> = {
  SUCCESS: 0,
  FAILURE: 1,
  INVALIDARGUMENT: 2,
  NOTIMPLEMENTED: 3,
  NOPERMISSION: 4,
  NOTINSTALLED: 5,
  NOTCONFIGURED: 6,
  NOTRUNNING: 7,
  USAGE: 64,
  DATAERR: 65,
  NOINPUT: 66,
  NOUSER: 67,
  NOHOST: 68,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  OSERR: 71,
  OSFILE: 72,
  CANTCREAT: 73,
  IOERR: 74,
  TEMPFAIL: 75,
  PROTOCOL: 76,
  NOPERM: 77,
  CONFIG: 78,
};

const SIGNALS = [
  "HUP",
  "INT",
  "QUIT",
  "ILL",
  "TRAP",
  "ABRT",
  "BUS",
  "FPE",
  "KILL",
  "USR1",
  "SEGV",
  "USR2",
  "PIPE",
  "ALRM",
  "TERM",
  "STKFLT",
  "CHLD",
  "CONT",
  "STOP",
  "TSTP",
  "TTIN",
  "TTOU",
  "URG",
  "XCPU",
  "XFSZ",
  "VTALRM",
  "PROF",
  "WINCH",
  "IO",
  "PWR",
  "SYS",
];

/** Exit codes and signals (`SIGABRT`), as in `SuccessExitStatus=0 75 SIGUSR1`. */
export interface StatusSet {
  codes: Set<number>;
  signals: Set<string>;
}

/**
 * The set a list of `SuccessExitStatus=`/`RestartForceExitStatus=`/`RestartPreventExitStatus=` lines
 * builds: words are exit codes (0–255), exit status names (`TEMPFAIL`), or signal names (`SIGUSR1`, `USR1`);
 * assignments add up, and an empty one empties the set. Words systemd rejects are returned apart.
 */
export function parseStatusSet(assignments: readonly Assignment[]): { set: StatusSet; rejected: string[] } {
  const set: StatusSet = { codes: new Set(), signals: new Set() };
  const rejected: string[] = [];
  for (const a of assignments) {
    if (a.value === "") {
      set.codes.clear();
      set.signals.clear();
      continue;
    }
    for (const word of a.value.split(/\s+/)) {
      if (/^\d+$/.test(word)) {
        const code = Number(word);
        if (code <= 255) set.codes.add(code);
        else rejected.push(word);
      } else if (word in EXIT_NAMES) set.codes.add(EXIT_NAMES[word]!);
      else {
        const name = word.startsWith("SIG") ? word.slice(3) : word;
        if (SIGNALS.includes(name)) set.signals.add(`SIG${name}`);
        else rejected.push(word);
      }
    }
  }
  return { set, rejected };
}

/** A parsed command line: `-`/`@`/`+`/`!`/`:`/`|` prefixes, the executable, and argv. */
export interface Command {
  prefixes: string;
  /** What systemd executes: argv[0], or the first word after an `@` prefix. */
  path: string;
  argv: string[];
}

const ESCAPES: Record<string, string> = {
  a: "\u0007",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  s: " ",
  "\\": "\\",
  '"': '"',
  "'": "'",
  ";": ";",
};

/**
 * Splits an `ExecStart=` value into words as systemd does (systemd.service(5), "Command lines"): whitespace
 * separates, single and double quotes group, C escapes are decoded, a lone `;` ends the command. Throws an
 * Error with a one-sentence reason when systemd would refuse the line.
 */
export function parseCommand(value: string): Command {
  let rest = value.trimStart();
  let prefixes = "";
  while (rest !== "" && "-@+!:|".includes(rest[0]!)) {
    prefixes += rest[0];
    rest = rest.slice(1);
  }
  const words = splitWordsMarked(rest);
  const end = words.findIndex((w) => w.separator);
  const command = (end >= 0 ? words.slice(0, end) : words).map((w) => w.text);
  if (command.length === 0) throw new Error("it names no program");
  if (prefixes.includes("@")) {
    if (command.length < 2) throw new Error("the @ prefix needs the program and then its argv[0]");
    return { prefixes, path: command[0]!, argv: command.slice(1) };
  }
  return { prefixes, path: command[0]!, argv: command };
}

/** Whitespace-separated words with quotes and C escapes (systemd's extract_first_word with unquoting). */
export function splitWords(text: string): string[] {
  return splitWordsMarked(text).map((w) => w.text);
}

/** Words, each marked when it is the command separator: a lone `;` neither quoted nor escaped. */
function splitWordsMarked(text: string): { text: string; separator: boolean }[] {
  const words: { text: string; separator: boolean }[] = [];
  let word = "";
  let inWord = false;
  let literal = false;
  let quote: string | undefined;
  const end = () => {
    if (inWord) words.push({ text: word, separator: word === ";" && !literal });
    word = "";
    inWord = false;
    literal = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\\") {
      const next = text[i + 1];
      if (next === undefined) throw new Error("it ends in a lone backslash");
      i++;
      inWord = true;
      literal = true;
      if (next in ESCAPES) word += ESCAPES[next]!;
      else if (next === "x" && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
        word += String.fromCharCode(Number.parseInt(text.slice(i + 1, i + 3), 16));
        i += 2;
      } else if (/^[0-7]{3}$/.test(text.slice(i, i + 3))) {
        word += String.fromCharCode(Number.parseInt(text.slice(i, i + 3), 8));
        i += 2;
      } else if (next === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) {
        word += String.fromCodePoint(Number.parseInt(text.slice(i + 1, i + 5), 16));
        i += 4;
      } else if (next === "U" && /^[0-9a-fA-F]{8}$/.test(text.slice(i + 1, i + 9))) {
        word += String.fromCodePoint(Number.parseInt(text.slice(i + 1, i + 9), 16));
        i += 8;
      } else throw new Error(`it has an escape systemd does not know: \\${next}`);
      continue;
    }
    if (quote) {
      if (c === quote) quote = undefined;
      else word += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
      literal = true;
      continue;
    }
    if (/\s/.test(c)) {
      end();
      continue;
    }
    word += c;
    inWord = true;
  }
  if (quote) throw new Error(`it has an unterminated ${quote === '"' ? "double" : "single"} quote`);
  end();
  return words;
}

/**
 * The environment `Environment=` lines give the service: `KEY=value` words, quoted as in command lines;
 * later assignments of a variable win, and an empty `Environment=` clears what came before.
 */
export function parseEnvironment(
  assignments: readonly Assignment[],
): Map<string, { value: string; at: Assignment }> {
  const env = new Map<string, { value: string; at: Assignment }>();
  for (const a of assignments) {
    if (a.value === "") {
      env.clear();
      continue;
    }
    let words: string[];
    try {
      words = splitWords(a.value);
    } catch {
      continue;
    }
    for (const word of words) {
      const eq = word.indexOf("=");
      if (eq > 0) env.set(word.slice(0, eq), { value: word.slice(eq + 1), at: a });
    }
  }
  return env;
}
