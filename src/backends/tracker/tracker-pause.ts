/**
 * What a failed delivery does to the tracker as a whole. A tracker that is
 * down, refuses the credentials or answers with a rate limit is paused for
 * the whole fleet (the store keeps the pause): new occurrences only merge
 * into the outbox meanwhile, and one attempt is made per backoff step, not
 * one per batch. Only a tracker refusing one ticket's content (HTTP 422)
 * backs off that problem alone.
 */

import type { LogticketsError } from '../../errors.js';
import type { OutboxEntry, OutboxStore } from '../contract.js';
import { handBack } from './outbox-groups.js';
import { backoffDelay, type BackoffOptions } from '../../ticketing/backoff.js';

/** The default backoff of a failing tracker: 1 s doubling up to 10 min, with jitter. */
export const TRACKER_BACKOFF: Required<BackoffOptions> = { initialMs: 1_000, maxMs: 600_000 };

// A configuration problem (password, permission, a missing project) will not fix itself soon.
const CONFIG_FLOOR_MS = 60_000;
// A request that timed out may still be carried out by a slow tracker: give it time to finish before
// looking for its marker, or the look would miss it and the text would be written twice.
const TIMEOUT_FLOOR_MS = 5_000;

export type FailureOutcome =
  | { readonly scope: 'tracker'; readonly pausedUntil: Date; readonly failures: number; readonly reason: string }
  | { readonly scope: 'problem'; readonly retryAt: Date };

export function afterFailure(
  error: LogticketsError,
  context: {
    readonly failures: number;
    readonly attempts: number;
    readonly now: Date;
    readonly retry?: BackoffOptions;
  },
): FailureOutcome {
  const { now } = context;
  const retry = { ...TRACKER_BACKOFF, ...context.retry };
  const reason = `${error.code}: ${error.message}`;
  if (error.retryAt !== undefined) {
    // The tracker said when: wait exactly that long (at least a second), however many failures came before.
    const at = Math.max(Date.parse(error.retryAt) || 0, now.getTime() + 1_000);
    return { scope: 'tracker', pausedUntil: new Date(at), failures: context.failures + 1, reason };
  }
  // Only a tracker refusing this problem's content (HTTP 422) is the problem's own; a missing repository,
  // issues turned off or a refused password concern every problem alike.
  if (error.code === 'TRACKER_FAULT' && !error.retryable && error.status === 422) {
    const delay = Math.max(CONFIG_FLOOR_MS, backoffDelay(context.attempts + 1, retry));
    return { scope: 'problem', retryAt: new Date(now.getTime() + delay) };
  }
  const failures = context.failures + 1;
  const floor = !error.retryable ? CONFIG_FLOOR_MS : error.code === 'TIMEOUT' ? TIMEOUT_FLOOR_MS : 0;
  const delay = Math.max(floor, backoffDelay(failures, retry));
  return { scope: 'tracker', pausedUntil: new Date(now.getTime() + delay), failures, reason };
}

/**
 * Hand a failed delivery's entries back to the outbox, due at `at`. When the
 * attempt got as far as a write, its text may have reached the tracker: every
 * entry keeps its delivery id (retried: looked for before the next write).
 * Otherwise only those an earlier attempt may have sent do; the others go back
 * to pending and merge, so failures add no rows.
 */
export async function releaseFailed(
  store: OutboxStore,
  owner: string,
  group: readonly OutboxEntry[],
  wrote: boolean,
  at: string,
  message: string,
): Promise<void> {
  if (!wrote) return handBack(store, owner, group, at, message);
  await Promise.all(group.map((e) => store.retryOutbox(e.id, owner, at, message)));
}
