/**
 * What an OutboxDeliverer is made with, and what a settling (closing,
 * draining) turn is told.
 */

import type { SyncPoller } from './sync-poller.js';
import type { LogticketsError } from '../../errors.js';
import type { BackoffOptions } from '../../ticketing/backoff.js';
import type { TicketStore } from '../contract.js';
import type { TrackerDelivery } from './tracker-delivery.js';

export interface DelivererOptions {
  readonly store: TicketStore;
  readonly delivery: TrackerDelivery;
  readonly onError: (error: LogticketsError) => void;
  /** How often a process asks for the lease, and looks for entries postponed or left by others (default 2 000 ms). */
  readonly pollIntervalMs: number;
  /** How long the lease lasts unless renewed: a dead holder is replaced within it (default 10 000 ms). */
  readonly leaseMs: number;
  readonly retry?: BackoffOptions;
  /** Awaited before each turn (the TrackedStore opens its store the first time). */
  readonly prepare?: () => Promise<void>;
  /** Two-way sync: looks for changes made in the tracker in the holder's turns. */
  readonly poller?: SyncPoller;
}

export interface SettleOptions {
  readonly deadline: number;
  readonly deliverHeld: boolean;
  /** Lift a pause after failures (not a rate limit) before delivering: a person fixed the cause. */
  readonly retryNow?: boolean;
  /** Aborts the requests of this settling (at its deadline). */
  readonly signal?: AbortSignal;
}
