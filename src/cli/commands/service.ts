/**
 * `hermes install-service` and `hermes uninstall-service` (SPEC §8): the flags, and the choices both make the
 * same way (which kind of unit, which user, which file). The flows are in service-install.ts and
 * service-uninstall.ts.
 */
import { join, resolve } from "node:path";
import type { ArgsDef } from "citty";
import { UsageError } from "../../errors.ts";
import { type Account, currentAccount, lookupAccount, unitDirectory } from "../../systemd/host.ts";
import { type Component, checkInstanceName, type UnitKind, unitName } from "../../systemd/render.ts";
import { command } from "../define.ts";
import { err } from "../output.ts";

const scope: ArgsDef = {
  user: { type: "boolean", description: "a user unit in ~/.config/systemd/user (default when not root)" },
  system: { type: "boolean", description: "a system unit in /etc/systemd/system (default for root)" },
  name: { type: "string", description: "instance name: hermes-gateway-<name>.service", valueHint: "name" },
  component: {
    type: "enum",
    options: ["gateway", "cron"],
    description: "which unit: gateway (default) or cron (the scheduler alone)",
  },
};

/** An action refused for a reason the user can fix: one sentence (or a short explanation), exit 1. */
export class Refused extends Error {}

export interface Target {
  kind: UnitKind;
  component: Component;
  name: string | undefined;
  /** Whose unit directory (user units), and who runs the service. */
  account: Account;
  unit: string;
  dir: string;
  path: string;
}

type Args = Record<string, unknown>;

/** The kind of unit, the component, the instance name and where its file lives. */
export function resolveTarget(args: Args, kind: UnitKind, account: Account): Target {
  const component = (args.component ?? "gateway") as string;
  if (component !== "gateway" && component !== "cron")
    throw new UsageError(`--component must be gateway or cron, not "${component}"`);
  const name = typeof args.name === "string" ? args.name : undefined;
  if (name !== undefined) {
    try {
      checkInstanceName(name);
    } catch (error) {
      throw new UsageError(`--name: ${(error as Error).message}`);
    }
  }
  const unit = unitName(component, name);
  const dir = unitDirectory(kind, account);
  return { kind, component, name, account, unit, dir, path: join(dir, unit) };
}

/** `--user`, `--system`, else system for root and user for everyone else. */
export function resolveKind(args: Args): UnitKind {
  if (args.user === true && args.system === true)
    throw new UsageError("--user and --system exclude each other");
  return args.system === true ? "system" : args.user === true ? "user" : isRoot() ? "system" : "user";
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export function whoAmI(): Account {
  const me = currentAccount();
  if (!me) throw new Refused(`There is no account for uid ${process.getuid?.()} in the password database.`);
  return me;
}

/**
 * Who the service runs as. A user unit runs as whoever installs it. A system unit runs as `--run-as-user`,
 * else the user who called sudo, else the caller; root only when asked for by name.
 */
export function resolveRunAs(args: Args, kind: UnitKind): Account {
  const me = whoAmI();
  const flag = typeof args["run-as-user"] === "string" ? args["run-as-user"] : undefined;
  if (kind === "user") {
    if (flag !== undefined && flag !== me.name)
      throw new UsageError(
        `--run-as-user is for system units: a user unit runs as the user who installs it (${me.name}); install it as ${flag}, or use --system`,
      );
    return me;
  }
  const sudoUser = process.env.SUDO_USER;
  const wanted = flag ?? (me.uid === 0 && sudoUser && sudoUser !== "root" ? sudoUser : me.name);
  const account = lookupAccount(wanted);
  if (!account) throw new UsageError(`--run-as-user: there is no user "${wanted}" on this machine`);
  if (account.uid === 0 && flag !== "root")
    throw new Refused(
      "Refusing to write a system unit that runs the gateway as root: pass --run-as-user USER (the account whose home holds HERMES_HOME), or --run-as-user root if you mean it.",
    );
  return account;
}

/** `--home`, else $HERMES_HOME, else the run-as user's ~/.hermes. */
export function serviceHome(flag: unknown, account: Account): string {
  if (typeof flag === "string" && flag !== "") return resolve(flag);
  if (process.env.HERMES_HOME) return resolve(process.env.HERMES_HOME);
  return join(account.home, ".hermes");
}

/** Runs a flow, turning a refusal into its message and exit 1. */
export async function refusable(flow: () => Promise<number> | number): Promise<number> {
  try {
    return await flow();
  } catch (error) {
    if (error instanceof Refused) {
      err(error.message);
      return 1;
    }
    throw error;
  }
}

export const installService = command({
  name: "install-service",
  description: "Write a safe systemd unit, enable and start it, wait for READY",
  args: {
    ...scope,
    "run-as-user": {
      type: "string",
      description: "system units: the user the gateway runs as (default: the sudo caller, else you)",
      valueHint: "user",
    },
    binary: {
      type: "string",
      description: "the hermes binary to run (default: this one; needed when hermes runs from source)",
      valueHint: "path",
    },
    "dry-run": {
      type: "boolean",
      description: "print the unit on stdout and change nothing (needs no root and no systemd)",
    },
    start: {
      type: "boolean",
      default: true,
      description: "start it and wait for READY (the default)",
      negativeDescription: "enable but do not start it",
    },
    force: {
      type: "boolean",
      description: "replace a unit hermes did not write, or install over lint errors",
    },
  },
  async run(args) {
    const { install } = await import("./service-install.ts");
    return refusable(() => install(args));
  },
});

export const uninstallService = command({
  name: "uninstall-service",
  description: "Stop, disable and remove the systemd unit",
  args: {
    ...scope,
    force: { type: "boolean", description: "remove the unit even if hermes did not write it" },
  },
  async run(args) {
    const { uninstall } = await import("./service-uninstall.ts");
    return refusable(() => uninstall(args));
  },
});
