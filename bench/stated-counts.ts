/**
 * The occurrences a tracker was told about, next to the store's count: a
 * ticket's description states the first count ("seen N times"), each comment
 * what came since ("N more occurrences", "Occurred again"), as
 * test/conformance/tracker-suite.ts reads them. Exact delivery means the two
 * agree for every problem, with one ticket per problem.
 */

import type { TicketStore } from '../src/index.js';
import type { Figure } from './measure.js';

/** A ticket as the tracker shows it. */
export interface TicketText {
  readonly description: string;
  readonly comments: readonly string[];
}

export function statedCount(ticket: TicketText): number {
  const seen = /seen (\d+) times/.exec(ticket.description);
  let n = seen === null ? 1 : Number(seen[1]);
  for (const comment of ticket.comments) {
    const more = /(\d+) more occurrences/.exec(comment);
    if (more !== null) n += Number(more[1]);
    else if (/Occurred again/.test(comment)) n += 1;
  }
  return n;
}

export interface CountCheck {
  /** Occurrences the tracker's tickets state, all problems. */
  readonly stated: number;
  /** Occurrences the store counted, all problems. */
  readonly stored: number;
  readonly problems: number;
  /** Tickets found in the tracker for those problems (one per problem is right). */
  readonly tickets: number;
  /** Problems whose stated count differs from the store's. */
  readonly mismatched: readonly string[];
}

/** Compare, problem by problem, what the tracker states (`ticketsOf` a fingerprint) with the store. */
export async function checkCounts(
  store: TicketStore,
  ticketsOf: (hash: string) => Promise<readonly TicketText[]>,
): Promise<CountCheck> {
  const stored = await store.getTickets({ limit: 1_000 });
  let stated = 0;
  let tickets = 0;
  const mismatched: string[] = [];
  for (const ticket of stored) {
    const texts = await ticketsOf(ticket.hash);
    const count = texts.reduce((n, t) => n + statedCount(t), 0);
    tickets += texts.length;
    stated += count;
    if (count !== ticket.occurrenceCount)
      mismatched.push(`${ticket.hash.slice(0, 8)}: ${count} stated, ${ticket.occurrenceCount} stored`);
  }
  return {
    stated,
    stored: stored.reduce((n, t) => n + t.occurrenceCount, 0),
    problems: stored.length,
    tickets,
    mismatched,
  };
}

/** One line for a figure's note. */
export function describeCounts(check: CountCheck, tracker: string): string {
  const per = `${check.tickets} ${tracker} tickets for ${check.problems} problems`;
  return check.mismatched.length === 0
    ? `${per}; every problem's count agrees`
    : `${per}; MISMATCHED: ${check.mismatched.join('; ')}`;
}

/** The figure comparing what a tracker states with what the store counted (target: equal, one ticket each). */
export function countsFigure(scenario: string, subject: string, counts: CountCheck, tracker: string): Figure {
  return {
    scenario,
    subject,
    value: counts.stated,
    unit: 'occ',
    ratio: {
      value: counts.stored === 0 ? 0 : counts.stated / counts.stored,
      label: 'of those counted in the store',
      target: '= 1',
      met: counts.stated === counts.stored && counts.mismatched.length === 0 && counts.tickets === counts.problems,
    },
    note: `store counted ${counts.stored}; ${describeCounts(counts, tracker)}`,
  };
}
