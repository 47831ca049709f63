// Reconnection delays: exponential, capped, with jitter so that clients dropped together do not come
// back together. Pure (the random source is a parameter).

export interface BackoffOptions {
  /** Delay ceiling of the first retry, in ms. */
  initialMs: number;
  /** Largest delay ceiling, in ms. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 200, maxMs: 15_000 };

/** The delay before retry number `attempt` (0-based): uniformly in [ceiling/2, ceiling], ceiling = min(max, initial·2^attempt). */
export function backoffDelay(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.maxMs, opts.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
