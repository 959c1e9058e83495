/**
 * The four ways of naming a state change (solve, reopen, mute, unmute), written
 * once for every backend on top of its `setTicketState` (ticket-state.ts).
 */

import type { Ticket } from './contract.js';
import type { SettableState, StateChangeOptions } from './ticket-state.js';

export abstract class StateShortcuts {
  abstract setTicketState(id: number, state: SettableState, options?: StateChangeOptions): Promise<Ticket>;

  solveTicket(id: number, options?: StateChangeOptions): Promise<Ticket> {
    return this.setTicketState(id, 'solved', options);
  }

  reopenTicket(id: number, options?: StateChangeOptions): Promise<Ticket> {
    return this.setTicketState(id, 'open', options);
  }

  muteTicket(id: number, options?: StateChangeOptions): Promise<Ticket> {
    return this.setTicketState(id, 'muted', options);
  }

  unmuteTicket(id: number, options?: StateChangeOptions): Promise<Ticket> {
    return this.setTicketState(id, 'open', options);
  }
}
