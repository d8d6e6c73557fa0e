/**
 * The CLI driver: finds the command, validates its flags, runs it, and maps every outcome to the exit-code
 * contract (0 ok, 1 refused or wrong, 2 usage or unreadable input, 3 internal error). Only this file and the
 * commands choose exit codes; a user error is one sentence on stderr, never a stack trace.
 */
import { type ArgsDef, type CommandDef, renderUsage, runCommand } from "citty";
import { UsageError } from "../errors.ts";
import { suggest } from "../lint/suggest.ts";
import { resolveLogLevel } from "./globals.ts";
import { err, out, stripAnsi, wantsColor } from "./output.ts";
import { root } from "./root.ts";

type Resolvable<T> = T | Promise<T> | (() => T | Promise<T>);
const resolveValue = async <T>(x: Resolvable<T>): Promise<T> =>
  typeof x === "function" ? await (x as () => T)() : await x;

interface Found {
  cmd: CommandDef;
  chain: string[];
  /** The arguments left for the command once subcommand names are taken out. */
  rest: string[];
  args: ArgsDef;
}

export async function run(argv: readonly string[]): Promise<number> {
  let debug = false;
  try {
    const found = await find(root, [...argv]);
    const help = helpRequested(found.rest);
    if (help) {
      out(await usage(found.cmd));
      return 0;
    }
    const subs = found.cmd.subCommands ? await resolveValue(found.cmd.subCommands) : undefined;
    if (subs && !found.cmd.run) {
      // `hermes` or `hermes lint` alone: show what is there.
      if (found.chain.length === 0 && found.rest.length === 0) {
        out(await usage(found.cmd));
        return 0;
      }
      err(await usage(found.cmd));
      throw new UsageError(
        `${["hermes", ...found.chain].join(" ")} needs a command: ${Object.keys(subs).join(", ")}`,
      );
    }
    checkFlags(found);
    const level = flagValue(found.rest, "log-level");
    debug = resolveLogLevel(level) === "debug";
    const { result } = await runCommand(found.cmd, { rawArgs: found.rest });
    return typeof result === "number" ? result : 0;
  } catch (error) {
    return report(error, debug);
  }
}

function report(error: unknown, debug: boolean): number {
  if (error instanceof UsageError) {
    err(error.message);
    return error.exitCode;
  }
  if (error instanceof Error && error.name === "CLIError") {
    err(stripAnsi(error.message));
    return 2;
  }
  const message = error instanceof Error ? error.message : String(error);
  err(`hermes: internal error: ${message}${debug ? "" : " (run with --log-level debug for details)"}`);
  if (debug && error instanceof Error && error.stack) err(error.stack);
  return 3;
}

/** Walks subcommand names out of argv; everything else stays for the command (global flags may come first). */
async function find(start: CommandDef, argv: string[]): Promise<Found> {
  let cmd = start;
  const chain: string[] = [];
  let rest = argv;
  for (;;) {
    const subs = cmd.subCommands ? await resolveValue(cmd.subCommands) : undefined;
    const args = (await resolveValue(cmd.args ?? {})) as ArgsDef;
    if (!subs) return { cmd, chain, rest, args };
    const index = firstPositional(rest, args);
    if (index < 0) return { cmd, chain, rest, args };
    const name = rest[index]!;
    const next = subs[name];
    if (!next) {
      const close = suggest(name, Object.keys(subs));
      throw new UsageError(
        `Unknown command "${name}" for ${["hermes", ...chain].join(" ")}${close ? `; did you mean "${close}"?` : ""} (commands: ${Object.keys(subs).join(", ")})`,
      );
    }
    cmd = await resolveValue(next as Resolvable<CommandDef>);
    chain.push(name);
    rest = [...rest.slice(0, index), ...rest.slice(index + 1)];
  }
}

function firstPositional(argv: readonly string[], args: ArgsDef): number {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--") return -1;
    if (token.startsWith("-")) {
      const def = args[token.replace(/^-+/, "")];
      if (!token.includes("=") && def && (def.type === "string" || def.type === "enum")) i++;
      continue;
    }
    return i;
  }
  return -1;
}

function helpRequested(argv: readonly string[]): boolean {
  for (const token of argv) {
    if (token === "--") return false;
    if (token === "--help" || token === "-h") return true;
  }
  return false;
}

/** Unknown flags and missing values are usage errors (citty itself accepts anything). */
function checkFlags(found: Found): void {
  const { args, rest, chain } = found;
  const where = ["hermes", ...chain].join(" ");
  const names = Object.keys(args);
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!;
    if (token === "--") break;
    if (!token.startsWith("-") || token === "-") continue;
    const [flag, inline] = token.replace(/^-+/, "").split(/=(.*)/s, 2) as [string, string | undefined];
    const negated = flag.startsWith("no-") ? flag.slice(3) : undefined;
    const def = args[flag] ?? (negated ? args[negated] : undefined);
    if (!def || def.type === "positional" || (negated && def.type !== "boolean" && !args[flag])) {
      const close = suggest(flag, names);
      throw new UsageError(
        `Unknown option ${token.split("=")[0]} for ${where}${close ? `; did you mean --${close}?` : ""}`,
      );
    }
    if ((def.type === "string" || def.type === "enum") && inline === undefined) {
      const value = rest[i + 1];
      if (value === undefined || (value.startsWith("-") && value !== "-")) {
        throw new UsageError(
          `Option --${flag} of ${where} needs a value${def.valueHint ? ` (${def.valueHint})` : ""}`,
        );
      }
      i++;
    }
  }
}

function flagValue(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === `--${name}`) return argv[i + 1];
    if (token.startsWith(`--${name}=`)) return token.slice(name.length + 3);
  }
  return undefined;
}

async function usage(cmd: CommandDef): Promise<string> {
  const text = await renderUsage(cmd);
  const extra = cmd === root ? "\n\n  --version  print the version" : "";
  const full = `${text}${extra}\n`.replace(/[ \t]+$/gm, "");
  return wantsColor(process.stdout) ? full : stripAnsi(full);
}
