/**
 * What the store keeps per tracker so that every process obeys the same
 * limits (docs/design/fleet-delivery.md): the deliverer's lease, the state
 * only the lease holder changes (a pause, failures, a sync cursor), and the
 * write budget as sliding windows over the times of recent writes.
 *
 * The budget arithmetic is here, shared by every store: a store only has to
 * read the recent write times and record a new one in the same atomic step.
 */

import { LogticketsError } from '../errors.js';

/** At most `writes` writes in any `perMs` milliseconds. */
export interface BudgetWindow {
  readonly writes: number;
  readonly perMs: number;
}

export interface TrackerState {
  readonly tracker: string;
  /** No tracker request before this time (a rate-limit pause or a backoff), fleet-wide. */
  readonly pausedUntil: string | null;
  /** Deliveries failed in a row. */
  readonly failures: number;
  /** Why the tracker is paused (for `stats()` and the CLI). */
  readonly reason: string | null;
  /** The last change seen by two-way sync. */
  readonly cursor: string | null;
}

export type TrackerStatePatch = Partial<Omit<TrackerState, 'tracker'>>;

export interface TrackerLease {
  readonly owner: string;
  readonly until: string;
}

export type WriteGrant = { readonly granted: true } | { readonly granted: false; readonly notBefore: string };

export interface TrackerStateStore {
  /**
   * Take the tracker's deliverer lease when it is free or expired, or renew
   * it when `owner` holds it, until now + `ttlMs`. True when `owner` holds it
   * afterwards. Atomic across processes.
   */
  acquireTrackerLease(tracker: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Give the lease up (only when `owner` holds it). */
  releaseTrackerLease(tracker: string, owner: string): Promise<void>;
  /** The lease as it stands (possibly expired), or null when nobody took it or it was released. */
  getTrackerLease(tracker: string): Promise<TrackerLease | null>;
  /** The tracker's state; defaults when it was never written. */
  getTrackerState(tracker: string): Promise<TrackerState>;
  /** Change the state, only while `owner` holds an unexpired lease; false (nothing changed) otherwise. */
  updateTrackerState(tracker: string, owner: string, patch: TrackerStatePatch): Promise<boolean>;
  /**
   * Spend one write of the tracker's budget now: granted only while `owner`
   * holds an unexpired lease and every window has room, and then recorded in
   * the same atomic step. Refused with the time the next write fits (or, for
   * a caller without the lease, when the lease runs out).
   */
  takeTrackerWrite(tracker: string, owner: string, windows: readonly BudgetWindow[]): Promise<WriteGrant>;
}

export function defaultTrackerState(tracker: string): TrackerState {
  return { tracker, pausedUntil: null, failures: 0, reason: null, cursor: null };
}

export function isTrackerStateStore(value: unknown): value is TrackerStateStore {
  const candidate = value as Partial<TrackerStateStore> | null;
  return (
    typeof candidate?.acquireTrackerLease === 'function' &&
    typeof candidate.takeTrackerWrite === 'function' &&
    typeof candidate.updateTrackerState === 'function'
  );
}

/** Reject windows no budget could mean. */
export function checkWindows(windows: readonly BudgetWindow[]): void {
  if (!Array.isArray(windows)) throw new LogticketsError('INVALID_ARGUMENT', 'windows must be an array');
  windows.forEach((w, i) => {
    if (!Number.isInteger(w?.writes) || w.writes < 0 || !Number.isInteger(w.perMs) || w.perMs < 1) {
      throw new LogticketsError(
        'INVALID_ARGUMENT',
        `windows[${i}] must have integer writes >= 0 and perMs >= 1, got ${JSON.stringify(w)}`,
      );
    }
  });
}

export function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs < 1) {
    throw new LogticketsError('INVALID_ARGUMENT', `ttlMs must be a positive integer, got ${String(ttlMs)}`);
  }
}

/** How far back write times matter: the longest window. */
export function longestWindow(windows: readonly BudgetWindow[]): number {
  return Math.max(0, ...windows.map((w) => w.perMs));
}

/**
 * Whether one more write fits now, given the times (ms) of earlier writes.
 * A write made at T counts in a window of `perMs` while now < T + perMs, so
 * when a window is full the next write fits at (the write that has to leave
 * first) + perMs. Returns null when it fits now, else that time.
 */
export function nextWriteAt(times: readonly number[], windows: readonly BudgetWindow[], now: number): number | null {
  const sorted = [...times].sort((a, b) => a - b);
  let at: number | null = null;
  for (const window of windows) {
    const inWindow = sorted.filter((t) => t > now - window.perMs);
    const over = inWindow.length + 1 - window.writes;
    if (over <= 0) continue;
    // With a zero budget nothing ever fits: say so with the end of the window from now.
    const leaving = window.writes === 0 ? now : inWindow[over - 1]!;
    const fits = leaving + window.perMs;
    at = at === null ? fits : Math.max(at, fits);
  }
  return at;
}

export function validPatch(patch: TrackerStatePatch): TrackerStatePatch {
  const allowed = ['pausedUntil', 'failures', 'reason', 'cursor'];
  for (const key of Object.keys(patch ?? {})) {
    if (!allowed.includes(key)) throw new LogticketsError('INVALID_ARGUMENT', `unknown tracker state field ${key}`);
  }
  if (patch.failures !== undefined && (!Number.isInteger(patch.failures) || patch.failures < 0)) {
    throw new LogticketsError('INVALID_ARGUMENT', `failures must be an integer >= 0, got ${String(patch.failures)}`);
  }
  return patch;
}
