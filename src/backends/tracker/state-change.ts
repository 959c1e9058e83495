/**
 * A state change made in the store (solve, reopen, mute, unmute) that its
 * trackers must follow. The deliveries are queued before the store's change
 * is made: a process that dies between the two leaves a delivery that finds
 * nothing to change, never a change the trackers miss; a deliverer waits for
 * the store's write before carrying a change out (tracker-delivery.ts).
 * Needs only the trackers' names, not their clients or credentials: the CLI
 * queues a change for a running fleet with the config's tracker names alone,
 * and for every tracker the ticket is linked to, configured here or not.
 */

import type { Ticket, TicketStore } from '../contract.js';
import { syncPayload } from '../outbox-summary.js';
import {
  changeRelease,
  changeTime,
  checkSettableState,
  type SettableState,
  type StateChangeOptions,
} from '../ticket-state.js';

export async function changeState(
  store: TicketStore,
  trackers: readonly string[],
  id: number,
  state: SettableState,
  options?: StateChangeOptions,
  /** Also queue for the trackers the ticket is linked to (the CLI, which may not know every tracker). */
  alsoLinked = false,
): Promise<Ticket> {
  checkSettableState(state);
  const at = changeTime(options, new Date(Date.now()));
  // The release a solve is made in goes to the store only: trackers are told the state.
  const release = changeRelease(options);
  const change = release === undefined ? { at } : { at, release };
  const ticket = await store.getTicket(id);
  // A missing ticket: the store says so (TICKET_NOT_FOUND).
  if (ticket === null) return store.setTicketState(id, state, change);
  // Every tracker named here, and (alsoLinked) every one the ticket is linked to: a config left out, or not readable.
  const linked = alsoLinked ? (await store.getProblemLinks(ticket)).map((l) => l.tracker) : [];
  const all = [...new Set([...trackers, ...linked])];
  if (all.length === 0) return store.setTicketState(id, state, change);
  const payload = syncPayload({ state, at });
  await store.enqueueOutbox(all.map((tracker) => ({ tracker, appId: ticket.appId, hash: ticket.hash, payload })));
  return store.setTicketState(id, state, change);
}
