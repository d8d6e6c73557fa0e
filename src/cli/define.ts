/** Command declarations: citty commands as data, with the global arguments merged in. */
import { type ArgsDef, type CommandDef, defineCommand } from "citty";
import { NotBuiltError } from "../errors.ts";
import { globalArgs } from "./globals.ts";

/** A command whose `run` returns its exit code. */
export function command<const A extends ArgsDef>(def: {
  name: string;
  description: string;
  args?: A;
  /** `rawArgs`: the command's arguments as given, for options that may be repeated (citty keeps the last). */
  run(
    args: Record<string, unknown> & { _: string[] },
    context: { rawArgs: string[] },
  ): number | Promise<number>;
}): CommandDef {
  return defineCommand({
    meta: { name: `hermes ${def.name}`, description: def.description },
    args: { ...(def.args ?? {}), ...globalArgs } as ArgsDef,
    run: ({ args, rawArgs }) => def.run(args as Record<string, unknown> & { _: string[] }, { rawArgs }),
  });
}

/** A command of the contract that is declared (so `--help` shows it) but not built yet: exit 2. */
export function notBuilt(name: string, description: string, args: ArgsDef = {}): CommandDef {
  return command({
    name,
    description: `${description} (not built yet)`,
    args,
    run() {
      throw new NotBuiltError(name);
    },
  });
}

/** A group of subcommands (`hermes lint`, `hermes cron`). */
export function group(
  name: string,
  description: string,
  subCommands: Record<string, CommandDef>,
): CommandDef {
  return defineCommand({
    meta: { name: `hermes ${name}`, description },
    args: { ...globalArgs } as ArgsDef,
    subCommands,
  });
}
