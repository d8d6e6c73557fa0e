/**
 * The real `hermes` CLI (same entry, same code) with the test platforms registered: run it with bun,
 * `bun test/gateway/harness.ts gateway run --home …`. Tests use it where a scenario needs a test adapter.
 */
import { registerTestPlatforms } from "./test-platforms.ts";

registerTestPlatforms();
const { tuneJit } = await import("../../src/runtime/jit.ts");
tuneJit(process.argv.slice(2));
const { run } = await import("../../src/cli/run.ts");
process.exitCode = await run(process.argv.slice(2));
