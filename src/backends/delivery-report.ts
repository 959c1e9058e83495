/**
 * What a backend that delivers to trackers (a TrackedStore) tells about its
 * deliveries: per tracker, what this process did and what still waits in the
 * store's outbox. A handler's `close()` and `stats()` pass it on.
 */

export interface CloseOptions {
  /** Return within this many ms (plus a small margin) whatever the trackers do (default 10 000). */
  readonly timeoutMs?: number;
  /** Send digests held by comment windows now, rather than leave them to a later process (cron jobs, CLIs). */
  readonly deliverHeld?: boolean;
}

/** One tracker's deliveries, as this process sees them. */
export interface DelivererStats {
  readonly tracker: string;
  /** Outbox entries delivered (or found delivered) by this process. */
  readonly delivered: number;
  /** Entries put off by a comment window or the write budget. */
  readonly postponed: number;
  /** Delivery attempts that failed. */
  readonly failed: number;
  /** Tracker writes this process made. */
  readonly writes: number;
  /** Entries waiting in the store for this tracker, as of this process's last look. */
  readonly pending: number;
  /** Whether this process delivers to the tracker now (holds its lease); after close, whether it did then. */
  readonly delivering: boolean;
  /** The fleet-wide pause, as of the last look: until when, and why. */
  readonly pausedUntil: string | null;
  readonly reason: string | null;
  /** Two-way sync's polls made by this process (absent when the tracker is not polled). */
  readonly sync?: {
    readonly polls: number;
    readonly learned: number;
    readonly lastPollAt: string | null;
    /** The last full read (`sync --full`) made by this process: tickets read, store tickets changed, trackers told again. */
    readonly lastFull?: { readonly changes: number; readonly applied: number; readonly restated: number };
  };
}

/** Deliveries still waiting in the outbox after a close or a settle, in all and per tracker. */
export interface DeliveryReport {
  readonly pending: number;
  readonly trackers: readonly DelivererStats[];
}
