/** The few errors hermes throws on purpose; each knows the exit code a command ends with. */

/** Wrong command line: exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
  readonly exitCode = 2;
}

/** A command of the contract that this version does not have yet: exit 2. */
export class NotBuiltError extends UsageError {
  override name = "NotBuiltError";
  constructor(command: string) {
    super(`\`hermes ${command}\` is not built yet in this version of hermes`);
  }
}
