/**
 * What logtickets asks of an issue tracker (Trac, GitHub, or one of your own):
 * a small plugin with no delivery logic and no state that matters. The store
 * and its deliverers (TrackedStore) decide when to write and to which ticket;
 * a Tracker only says how to do each step against its tracker:
 * - find a problem's ticket by the marker logtickets leaves in it;
 * - create a ticket for a problem;
 * - add occurrences to a ticket: comment, reopen as a regression, or leave a
 *   muted one (closed as wontfix / not planned) alone;
 * - set a ticket's state (solved, open, muted) as the store asks;
 * - check its setup, and give a ticket's web address;
 * - list the tickets changed since a time (for two-way sync).
 * Every call may take an AbortSignal; a tracker honours it where its client can.
 *
 * Exactly-once text: every write carries the delivery ids it is made for, in a
 * hidden marker (ticket-text.ts: `deliveryMarker`), in the description of a
 * ticket it creates and in each comment. After an ambiguous failure the
 * deliverer asks `deliveredIn` before writing again. A tracker never retries a
 * write by itself, and awaits `beforeWrite` before each write request: that is
 * how the fleet-wide write budget and the deliverer's lease are kept.
 */

import type { SettableState } from '../ticket-state.js';
import type { BudgetWindow } from '../tracker-state.js';
import type { OccurrenceSummary } from './occurrence-summary.js';
import type { SetupCheck } from './setup-check.js';

export type { OccurrenceSummary } from './occurrence-summary.js';
export type { SetupCheck } from './setup-check.js';

/** A problem as a tracker knows it: the application and the fingerprint its marker carries. */
export interface TrackerProblem {
  readonly appId: string;
  readonly hash: string;
}

export interface TrackerCallOptions {
  /** Abort the request (a shutdown that cannot wait). */
  readonly signal?: AbortSignal;
}

/** What a write (create, addOccurrences) is given besides its content. */
export interface TrackerWriteOptions extends TrackerCallOptions {
  /** The delivery ids the written text carries in its hidden marker (none: no marker). */
  readonly deliveryIds?: readonly string[];
  /**
   * Awaited before each write request (a create, a comment, a reopen, a label).
   * It rejects when the fleet's write budget or the deliverer's lease does not
   * allow a write now; the tracker lets that rejection through untouched and
   * writes nothing more in this call.
   */
  readonly beforeWrite?: () => Promise<void>;
  /**
   * addOccurrences only: whether a ticket closed as solved is reopened as a
   * regression (default true). False when the store counted the occurrences
   * without reopening (the grace window after solving): a comment only.
   */
  readonly reopen?: boolean;
}

/** What setState did: the ticket changed, it was in that state already, or it no longer exists. */
export type SetStateResult = 'changed' | 'unchanged' | 'gone';

/** What happened when occurrences were added to an existing ticket. */
export type AddResult =
  | 'commented'
  | 'reopened'
  /** Closed as not to be fixed: left as it is. */
  | 'muted'
  /** Deleted in the tracker: the link is forgotten and a new ticket is made. */
  | 'gone';

/** A ticket's state as the tracker shows it after a change. */
export interface TrackerChange {
  readonly externalId: string;
  readonly state: 'open' | 'closed';
  /** Why it is closed: Trac's resolution, GitHub's state_reason (`completed`, `not_planned`); null when open or unknown. */
  readonly resolution: string | null;
  /** ISO 8601 time of the change. */
  readonly updatedAt: string;
  /** Labels (GitHub) or keywords (Trac). */
  readonly labels: readonly string[];
  /**
   * The state as the store understands it: closed as fixed / completed →
   * solved; closed as wontfix, invalid, duplicate or not planned, or carrying
   * a muted label → muted; else open.
   */
  readonly ticketState: SettableState;
  /** When the ticket reached that state, as near as the tracker tells (GitHub: closed_at when closed). */
  readonly stateAt: string;
}

export interface Tracker {
  /** Where the tracker is, without credentials (`trac:https://…`, `github:owner/repo`): the key of its links and outbox. */
  readonly name: string;
  /** The external id of the ticket carrying this problem's marker, if the tracker has one. */
  find(problem: TrackerProblem, options?: TrackerCallOptions): Promise<string | undefined>;
  /** Open a ticket for a problem, carrying its marker; returns its external id. */
  create(problem: TrackerProblem, summary: OccurrenceSummary, options?: TrackerWriteOptions): Promise<string>;
  /** Add occurrences to a ticket: comment, reopen a ticket closed as solved, or leave a muted one. */
  addOccurrences(externalId: string, summary: OccurrenceSummary, options?: TrackerWriteOptions): Promise<AddResult>;
  /**
   * Which of `deliveryIds` the ticket's text carries already: in its
   * description, or in a comment made at or after `since` (the time of the
   * first attempt, minus a margin for clocks). Asked after an ambiguous
   * failure, before writing again. A ticket that no longer exists carries none.
   */
  deliveredIn(
    externalId: string,
    deliveryIds: readonly string[],
    since: Date,
    options?: TrackerCallOptions,
  ): Promise<string[]>;
  /**
   * Writes the tracker's service allows per time window (GitHub: 80 per minute
   * and 500 per hour). The store keeps it for the whole fleet; none: no limit.
   */
  readonly writeBudget?: readonly BudgetWindow[];
  /** Check the live tracker is usable (reachable, authenticated, allowed, set up). Changes nothing. */
  checkSetup(options?: TrackerCallOptions): Promise<SetupCheck[]>;
  /** Where a person sees the ticket (a web URL). Makes no request. */
  ticketUrl(externalId: string): string;
  /**
   * Tickets of logtickets changed at or after `since`, oldest first, with one
   * listing request per page of changes (Trac: the recent changes, then one
   * multicall per page of tickets).
   */
  changedSince(since: Date, options?: TrackerCallOptions): Promise<TrackerChange[]>;
  /** A ticket's state now, as `changedSince` would list it (one read); undefined when it no longer exists. */
  readState(externalId: string, options?: TrackerCallOptions): Promise<TrackerChange | undefined>;
  /**
   * Bring a ticket to a state: solved (Trac: resolve as fixed; GitHub: close
   * as completed), open (reopen) or muted (Trac: resolve as wontfix; GitHub:
   * close as not planned). Reads the ticket first and writes nothing when it
   * is in that state already, so a repeat after a lost answer is harmless.
   * A write carries `deliveryIds` where the tracker writes text with it.
   */
  setState(externalId: string, state: SettableState, options?: TrackerWriteOptions): Promise<SetStateResult>;
  /** Release what the tracker holds (connections, timers). */
  close(): Promise<void>;
}
