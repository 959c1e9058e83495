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
  /** How people call the tracker (a config entry's `name`); its name when not known. */
  readonly label: string;
  readonly externalId: string;
  /** Where a person sees it; null for a tracker not configured here. */
  readonly url: string | null;
  /** The state the tracker's ticket was last known to be in (null: not known yet). */
  readonly state: SettableState | null;
  readonly stateAt: string | null;
}

/** What finding links needs of a tracker: its name, a short label for people, and how its ticket URLs look. */
export interface LinkedTracker {
  readonly name: string;
  /** How people call it (a config entry's `name`, else its type); default: the name. */
  readonly label?: string;
  ticketUrl(externalId: string): string;
}

/**
 * The ticket's links in every tracker the store knows of: those of
 * `trackers` first, in their order, with their URLs; then links to trackers
 * not among them (no longer configured, or named in a config not given), by
 * name, without a URL.
 */
export async function ticketLinks(
  store: Pick<LinkStore, 'getProblemLinks'>,
  trackers: readonly LinkedTracker[],
  ticket: Pick<Ticket, 'appId' | 'hash'>,
): Promise<TicketLink[]> {
  const links = await store.getProblemLinks({ appId: ticket.appId, hash: ticket.hash });
  const rank = (name: string) => {
    const i = trackers.findIndex((t) => t.name === name);
    return i === -1 ? trackers.length : i;
  };
  return links
    .filter((link) => link.externalId !== null)
    .sort((a, b) => rank(a.tracker) - rank(b.tracker))
    .map((link) => {
      const tracker = trackers.find((t) => t.name === link.tracker);
      return {
        tracker: link.tracker,
        label: tracker?.label ?? link.tracker,
        externalId: link.externalId!,
        url: tracker === undefined ? null : tracker.ticketUrl(link.externalId!),
        state: link.state,
        stateAt: link.stateAt,
      };
    });
}
