/**
 * When the lease holder of a tracker looks for changes made in the tracker
 * (tracker-sync.ts does the looking): every `syncIntervalMs` (default 60 s;
 * 0 turns two-way sync's polling off), from the cursor the store keeps for
 * the whole fleet, so a new holder goes on where the last one stopped. A
 * failed poll is reported and tried again at the next interval; deliveries
 * are not held up by it.
 */

import { asLogticketsError, type LogticketsError } from '../../errors.js';
import type { TicketStore } from '../contract.js';
import { unlessAbandoned } from './outbox-groups.js';
import type { PollResult, TrackerSync } from './tracker-sync.js';

export const DEFAULT_SYNC_INTERVAL_MS = 60_000;

/** What `stats()` shows of the polls this process made. */
export interface PollStats {
  readonly polls: number;
  /** Store tickets changed to the tracker's state by this process's polls. */
  readonly learned: number;
  readonly lastPollAt: string | null;
  /** What the last full read (`sync --full`) made by this process found. */
  readonly lastFull?: PollResult;
}

export class SyncPoller {
  private nextAt = 0;
  private counts: { polls: number; learned: number; lastPollAt: string | null; lastFull?: PollResult } = {
    polls: 0,
    learned: 0,
    lastPollAt: null,
  };

  constructor(
    readonly sync: TrackerSync,
    private readonly store: TicketStore,
    readonly intervalMs: number,
    private readonly onError: (error: LogticketsError) => void,
  ) {}

  stats(): PollStats {
    return { ...this.counts };
  }

  /** In the holder's turn: poll when due. Returns the ms until the next poll is due (Infinity when polling is off). */
  async turn(owner: string, signal: AbortSignal): Promise<number> {
    if (this.intervalMs <= 0) return Infinity;
    const wait = this.nextAt - Date.now();
    if (wait > 0) return wait;
    this.nextAt = Date.now() + this.intervalMs;
    try {
      // A tracker that ignores the abort signal must not hold a closing deliverer's turn.
      await unlessAbandoned(this.poll(owner, false, signal), signal);
    } catch (thrown) {
      if (signal.aborted) return this.intervalMs;
      this.report(thrown);
    }
    return this.intervalMs;
  }

  /** Read every ticket of the tracker and bring store and tracker together (`sync --full`). */
  async full(owner: string, signal: AbortSignal): Promise<PollResult> {
    const result = await this.poll(owner, true, signal);
    this.counts.lastFull = result;
    return result;
  }

  private async poll(owner: string, full: boolean, signal: AbortSignal): Promise<PollResult> {
    const name = this.sync.tracker.name;
    const state = await this.store.getTrackerState(name);
    const result = await this.sync.poll(full ? null : state.cursor, { full, signal });
    this.counts.polls++;
    this.counts.learned += result.applied;
    this.counts.lastPollAt = new Date(Date.now()).toISOString();
    // A first poll that saw nothing starts the next one from now (less an overlap), not from the beginning again.
    const cursor = result.cursor ?? this.counts.lastPollAt;
    if (!full || state.cursor === null || cursor > state.cursor)
      await this.store.updateTrackerState(name, owner, { cursor });
    return result;
  }

  private report(thrown: unknown): void {
    const error = asLogticketsError(thrown, { code: 'TRACKER_FAULT', backend: this.sync.tracker.name });
    try {
      this.onError(error);
    } catch {
      // A throwing hook must not stop the loop.
    }
  }
}
