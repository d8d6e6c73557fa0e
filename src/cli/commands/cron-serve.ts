/** `hermes cron serve`: the scheduler alone, in the foreground (what `hermes-cron.service` starts). */
import { command } from "../define.ts";
import { resolveHome, resolveLogLevel } from "../globals.ts";

export const serve = command({
  name: "cron serve",
  description:
    "Run the scheduler alone, as its own process (it stands by while another scheduler holds the lock)",
  args: {
    config: {
      type: "string",
      description: "config file to use instead of $HERMES_HOME/config.yaml",
      valueHint: "file",
    },
  },
  async run(args) {
    const { runCronServe } = await import("../../cron/serve.ts");
    const { loadRuntime } = await import("../../runtime/index.ts");
    const code = await runCronServe({
      home: resolveHome(args.home as string | undefined),
      configFile: args.config as string | undefined,
      logLevel: resolveLogLevel(args["log-level"] as string | undefined),
      runtime: await loadRuntime(),
    });
    // A leaked socket or timer must not keep a stopped scheduler alive: flush, then end.
    await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
    process.exit(code);
  },
});
