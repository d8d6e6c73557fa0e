/** Capped exponential backoff with full jitter (AWS architecture blog's "full jitter"): pure, testable. */
export interface BackoffOptions {
  /** First delay, ms. @default 1000 */
  initialMs?: number;
  /** Cap, ms. @default 300000 */
  maxMs?: number;
  /** Growth per attempt. @default 2 */
  multiplier?: number;
  /** Random source in [0, 1). @default Math.random */
  random?: () => number;
}

/** Delay before retry number `attempt` (1-based): a random value between half and all of the capped ceiling. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { initialMs = 1000, maxMs = 300_000, multiplier = 2, random = Math.random } = options;
  if (attempt < 1 || !Number.isFinite(attempt))
    throw new RangeError(`Cannot compute a backoff: attempt must be 1 or more, not ${attempt}`);
  if (initialMs < 0 || maxMs < initialMs)
    throw new RangeError(`Cannot compute a backoff: need 0 <= initial (${initialMs}) <= max (${maxMs})`);
  const ceiling = Math.min(maxMs, initialMs * multiplier ** Math.min(attempt - 1, 60));
  // Half fixed, half random: never a zero wait, and many clients do not retry in step.
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
