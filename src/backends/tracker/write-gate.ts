/**
 * The gate every tracker write passes (`beforeWrite` of TrackerWriteOptions):
 * one write of the tracker's budget is taken from the store, which grants it
 * only to the lease holder and only while every window of the budget has room
 * (tracker-state.ts). So a fleet of any size writes within the budget, and a
 * process that lost its lease writes nothing more. DeliveryWrites says what
 * one delivery asked of its gate.
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

/**
 * One delivery's writes through its gate: whether it asked for one, and
 * whether one was granted (it may have reached the tracker). Once its
 * requests are cut (`signal`), it takes no write of the budget that it could
 * not send; abandoned (its caller stopped waiting for it), it is let through
 * no more, so what it had not asked for by then is surely unsent.
 */
export class DeliveryWrites {
  private asked = false;
  private abandoned = false;
  granted = false;

  constructor(
    private readonly gate: () => Promise<void>,
    private readonly signal: AbortSignal,
  ) {}

  readonly beforeWrite = async (): Promise<void> => {
    if (this.abandoned || this.signal.aborted) throw new Error('the delivery was cut: no more writes');
    this.asked = true;
    await this.gate();
    this.granted = true;
  };

  /** Let no more writes through; whether one may have been made (asked for, granted or not yet). */
  abandon(): boolean {
    this.abandoned = true;
    return this.asked;
  }
}
