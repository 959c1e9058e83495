/**
 * The gate every tracker write passes (`beforeWrite` of TrackerWriteOptions):
 * one write of the tracker's budget is taken from the store, which grants it
 * only to the lease holder and only while every window of the budget has room
 * (tracker-state.ts). So a fleet of any size writes within the budget, and a
 * process that lost its lease writes nothing more.
 */

import type { BudgetWindow, TrackerStateStore } from '../tracker-state.js';

/** A write was not allowed now; nothing of it was sent. */
export class WriteRefused extends Error {
  constructor(readonly notBefore: string) {
    super(`no tracker write allowed before ${notBefore}`);
    this.name = 'WriteRefused';
  }
}

export function writeGate(
  store: TrackerStateStore,
  tracker: string,
  owner: string,
  budget: readonly BudgetWindow[],
  onWrite: () => void,
): () => Promise<void> {
  return async () => {
    const grant = await store.takeTrackerWrite(tracker, owner, budget);
    if (!grant.granted) throw new WriteRefused(grant.notBefore);
    onWrite();
  };
}
