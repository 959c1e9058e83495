/**
 * How long to wait before trying a failed write again: exponential, capped,
 * with "full jitter" so that many processes recovering at once do not hit a
 * server in step.
 */

export interface BackoffOptions {
  /** First delay in ms (default 100). */
  readonly initialMs?: number;
  /** Longest delay in ms (default 30 000). */
  readonly maxMs?: number;
}

export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = options.initialMs ?? 100;
  const max = options.maxMs ?? 30_000;
  const ceiling = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
