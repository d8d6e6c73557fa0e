/** The command tree. Subcommands load on demand, so `hermes --version` and `--help` stay light. */
import { type ArgsDef, type CommandDef, defineCommand } from "citty";
import { VERSION } from "../version.ts";
import { globalArgs } from "./globals.ts";

const lazy = <T>(load: () => Promise<T>) => load as unknown as () => Promise<CommandDef>;

export const root: CommandDef = defineCommand({
  meta: {
    name: "hermes",
    version: VERSION,
    description: "A messaging gateway for bots and AI agents that never dies silently",
  },
  args: { ...globalArgs } as ArgsDef,
  subCommands: {
    gateway: lazy(() => import("./commands/gateway.ts").then((m) => m.default)),
    lint: lazy(() => import("./commands/lint.ts").then((m) => m.default)),
    "install-service": lazy(() => import("./commands/service.ts").then((m) => m.installService)),
    "uninstall-service": lazy(() => import("./commands/service.ts").then((m) => m.uninstallService)),
    cron: lazy(() => import("./commands/cron.ts").then((m) => m.default)),
    send: lazy(() => import("./commands/messages.ts").then((m) => m.send)),
    outbox: lazy(() => import("./commands/messages.ts").then((m) => m.outbox)),
    "self-update": lazy(() => import("./commands/install.ts").then((m) => m.selfUpdate)),
    uninstall: lazy(() => import("./commands/install.ts").then((m) => m.uninstall)),
  },
});
