/** The in-memory store's per-tracker lease, state and write budget (tracker-state.ts). */

import { isoTime } from '../batch.js';
import {
  checkTtl,
  checkWindows,
  defaultTrackerState,
  longestWindow,
  nextWriteAt,
  validPatch,
  type BudgetWindow,
  type TrackerLease,
  type TrackerState,
  type TrackerStatePatch,
  type WriteGrant,
} from '../tracker-state.js';

interface Entry {
  lease: { owner: string; until: number } | null;
  state: { -readonly [K in keyof TrackerState]: TrackerState[K] };
  writes: number[];
}

export class MemoryTrackerState {
  private readonly trackers = new Map<string, Entry>();

  constructor(private readonly now: () => Date) {}

  acquire(tracker: string, owner: string, ttlMs: number): boolean {
    checkTtl(ttlMs);
    const now = this.now().getTime();
    const entry = this.entry(tracker);
    if (entry.lease !== null && entry.lease.owner !== owner && entry.lease.until > now) return false;
    entry.lease = { owner, until: now + ttlMs };
    return true;
  }

  release(tracker: string, owner: string): void {
    const entry = this.trackers.get(tracker);
    if (entry?.lease?.owner === owner) entry.lease = null;
  }

  lease(tracker: string): TrackerLease | null {
    const lease = this.trackers.get(tracker)?.lease ?? null;
    return lease === null ? null : { owner: lease.owner, until: new Date(lease.until).toISOString() };
  }

  state(tracker: string): TrackerState {
    const entry = this.trackers.get(tracker);
    return entry === undefined ? defaultTrackerState(tracker) : { ...entry.state };
  }

  update(tracker: string, owner: string, patch: TrackerStatePatch): boolean {
    validPatch(patch);
    const entry = this.trackers.get(tracker);
    if (!this.holds(entry, owner)) return false;
    const state = entry!.state;
    if (patch.pausedUntil !== undefined)
      state.pausedUntil = patch.pausedUntil === null ? null : isoTime(patch.pausedUntil);
    if (patch.failures !== undefined) state.failures = patch.failures;
    if (patch.reason !== undefined) state.reason = patch.reason;
    if (patch.cursor !== undefined) state.cursor = patch.cursor;
    return true;
  }

  takeWrite(tracker: string, owner: string, windows: readonly BudgetWindow[]): WriteGrant {
    checkWindows(windows);
    const now = this.now().getTime();
    const entry = this.trackers.get(tracker);
    if (!this.holds(entry, owner)) {
      return { granted: false, notBefore: new Date(Math.max(now, entry?.lease?.until ?? now)).toISOString() };
    }
    const longest = longestWindow(windows);
    entry!.writes = entry!.writes.filter((t) => t > now - longest);
    const at = nextWriteAt(entry!.writes, windows, now);
    if (at !== null) return { granted: false, notBefore: new Date(at).toISOString() };
    entry!.writes.push(now);
    return { granted: true };
  }

  private holds(entry: Entry | undefined, owner: string): boolean {
    return entry?.lease != null && entry.lease.owner === owner && entry.lease.until > this.now().getTime();
  }

  private entry(tracker: string): Entry {
    let entry = this.trackers.get(tracker);
    if (entry === undefined) {
      entry = { lease: null, state: { ...defaultTrackerState(tracker) }, writes: [] };
      this.trackers.set(tracker, entry);
    }
    return entry;
  }
}
