/**
 * Which store a composite backend (a TrackedStore) counts occurrences in, so
 * a handler given that store again, or two composites over one store, can
 * refuse a target that would count every occurrence twice. A registry kept
 * here, apart from both, so neither module imports the other.
 */

import type { TicketBackend, TicketStore } from './contract.js';

const countedIn = new WeakMap<TicketBackend, TicketStore>();

export function registerCountsIn(backend: TicketBackend, store: TicketStore): void {
  countedIn.set(backend, store);
}

/** The store a backend counts in: its registered store, else itself. */
export function countsIn(backend: TicketBackend): TicketBackend {
  return countedIn.get(backend) ?? backend;
}
