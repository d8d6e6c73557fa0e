#!/usr/bin/env node
/**
 * Entry point of the `hermes` binary. `--version` answers before anything else is loaded; every other
 * command goes through the driver, which sets the exit code and lets output flush (no process.exit()).
 */
import { VERSION } from "../version.ts";

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
  process.stdout.write(`hermes ${VERSION}\n`);
} else {
  const { tuneJit } = await import("../runtime/jit.ts");
  tuneJit(argv);
  const { run } = await import("./run.ts");
  process.exitCode = await run(argv);
}
