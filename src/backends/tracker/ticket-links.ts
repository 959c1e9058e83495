/**
 * Where a stored ticket lives in each tracker. The store keeps one link per
 * (tracker, problem); with the configured trackers' names and URL rules this
 * gives a ticket's links without asking any tracker, and without credentials.
 */

import type { SettableState } from '../ticket-state.js';
import type { LinkStore, Ticket } from '../contract.js';

export interface TicketLink {
  /** The tracker's name (`trac:https://…`, `github:owner/repo`). */
  readonly tracker: string;
  readonly externalId: string;
  readonly url: string;
  /** The state the tracker's ticket was last known to be in (null: not known yet). */
  readonly state: SettableState | null;
  readonly stateAt: string | null;
}

/** What finding links needs of a tracker: its name and how its ticket URLs look. */
export interface LinkedTracker {
  readonly name: string;
  ticketUrl(externalId: string): string;
}

/** The ticket's links, in the order of `trackers`; a tracker without a (finished) link is left out. */
export async function ticketLinks(
  store: Pick<LinkStore, 'getLink'>,
  trackers: readonly LinkedTracker[],
  ticket: Pick<Ticket, 'appId' | 'hash'>,
): Promise<TicketLink[]> {
  const found = await Promise.all(
    trackers.map(async (tracker) => {
      const link = await store.getLink({ tracker: tracker.name, appId: ticket.appId, hash: ticket.hash });
      if (link?.externalId == null) return undefined;
      return {
        tracker: tracker.name,
        externalId: link.externalId,
        url: tracker.ticketUrl(link.externalId),
        state: link.state,
        stateAt: link.stateAt,
      };
    }),
  );
  return found.filter((link): link is TicketLink => link !== undefined);
}
