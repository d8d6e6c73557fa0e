/**
 * One-shot commands (lint, status, send…) finish in milliseconds; letting Bun's JIT tier up the parser's hot
 * loops costs about 15 MiB of memory and saves no time. Long-running commands keep the normal policy.
 * Only Bun has this knob; Node and Deno are left alone.
 */
type BunUnsafe = { unsafe?: { setJITPolicy?: (scale: number) => void } };

export function isLongRunning(argv: readonly string[]): boolean {
  const words = argv.filter((a) => !a.startsWith("-"));
  return (words[0] === "gateway" && words[1] === "run") || (words[0] === "cron" && words[1] === "serve");
}

export function tuneJit(argv: readonly string[]): void {
  if (isLongRunning(argv)) return;
  (globalThis as { Bun?: BunUnsafe }).Bun?.unsafe?.setJITPolicy?.(1000);
}
