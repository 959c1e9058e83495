/**
 * What a TrackedStore is made with, checked: its trackers (each a Tracker or
 * a Tracker with pacing of its own), its store, and the bounds of pacing.
 */

import { LogticketsError } from '../../errors.js';
import type { BackoffOptions } from '../../ticketing/backoff.js';
import { checkOptions } from '../../options.js';
import { isTicketStore, type TicketBackend, type TicketStore } from '../contract.js';
import { openBackend } from '../open-backend.js';
import type { CloseOptions } from '../delivery-report.js';
import type { Tracker } from './tracker.js';

/** How a tracker's deliveries are paced; each may be set per tracker or for all of a TrackedStore's. */
export interface DeliveryOptions {
  /** At most one comment per ticket per this many ms, fleet-wide (default 60 000). */
  readonly commentIntervalMs?: number;
  /** How often a process asks for a tracker's lease and looks for waiting deliveries (default 2 000 ms). */
  readonly pollIntervalMs?: number;
  /** How long a deliverer's lease lasts unless renewed: a dead holder is replaced within it (default 10 000 ms). */
  readonly leaseMs?: number;
  /** Backoff of a failing tracker, fleet-wide (default from 1 s, doubling, up to 10 min, with jitter). */
  readonly retry?: BackoffOptions;
  /** How often the deliverer looks for state changes made in the tracker (default 60 000 ms; 0: never). */
  readonly syncIntervalMs?: number;
}

/** A tracker with pacing of its own (else the TrackedStore's). */
export interface TrackerEntry extends DeliveryOptions {
  readonly tracker: Tracker;
}

/** The option kinds of pacing, for checkOptions. */
export const PACING_KINDS = {
  commentIntervalMs: { integer: { min: 0 } },
  pollIntervalMs: { integer: { min: 10 } },
  leaseMs: { integer: { min: 100 } },
  retry: 'object',
  syncIntervalMs: { integer: { min: 0 } },
} as const;

/** Bounds the option kinds cannot say: an hour at most between looks or for a lease; a retry's own keys. */
export function checkPacing(where: string, pacing: DeliveryOptions | undefined): void {
  for (const key of ['pollIntervalMs', 'leaseMs', 'syncIntervalMs'] as const) {
    const value = pacing?.[key];
    if (value !== undefined && value > 3_600_000)
      throw new LogticketsError('INVALID_ARGUMENT', `${where}.${key} must be at most 3600000 (an hour), got ${value}`);
  }
  checkOptions(`${where}.retry`, pacing?.retry, { initialMs: { integer: { min: 1 } }, maxMs: { integer: { min: 1 } } });
}

export function checkCloseOptions(what: string, options: CloseOptions): void {
  checkOptions(`${what} options`, options, { timeoutMs: { integer: { min: 0 } }, deliverHeld: 'boolean' });
}

function isTracker(value: unknown): value is Tracker {
  const t = value as Partial<Tracker> | null;
  return (
    t !== null &&
    typeof t === 'object' &&
    typeof t.name === 'string' &&
    t.name !== '' &&
    typeof t.find === 'function' &&
    typeof t.create === 'function' &&
    typeof t.addOccurrences === 'function' &&
    typeof t.deliveredIn === 'function' &&
    typeof t.setState === 'function' &&
    typeof t.readState === 'function' &&
    typeof t.changedSince === 'function'
  );
}

export function asEntry(item: Tracker | TrackerEntry, index: number): TrackerEntry {
  if (isTracker(item)) return { tracker: item };
  const entry = item as Partial<TrackerEntry> | null;
  if (entry !== null && typeof entry === 'object' && isTracker(entry.tracker)) {
    checkOptions(`TrackedStore options.trackers[${index}]`, entry, { tracker: 'any', ...PACING_KINDS });
    checkPacing(`TrackedStore options.trackers[${index}]`, entry);
    return entry as TrackerEntry;
  }
  throw new LogticketsError(
    'INVALID_ARGUMENT',
    `TrackedStore options.trackers[${index}] must be a Tracker or { tracker, commentIntervalMs?, pollIntervalMs?, leaseMs?, retry?, syncIntervalMs? }`,
  );
}

export function checkStore(store: unknown): TicketStore {
  const b = store as TicketBackend | null;
  if (b === null || typeof b !== 'object' || typeof b.recordBatch !== 'function' || !isTicketStore(b)) {
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      'TrackedStore options.store must be a store URI or a store that keeps links and an outbox',
    );
  }
  return b;
}

export function openStore(uri: string): TicketStore {
  let backend: TicketBackend;
  try {
    backend = openBackend(uri);
  } catch (error) {
    if (error instanceof LogticketsError)
      throw new LogticketsError(error.code, `TrackedStore options.store: ${error.message}`);
    throw error;
  }
  if (!isTicketStore(backend)) {
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      `TrackedStore options.store: ${backend.name} cannot keep links and an outbox`,
    );
  }
  return backend;
}
