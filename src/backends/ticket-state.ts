/**
 * A ticket's state, the same in every store and every tracker:
 *
 *   open ──solve──▶ solved ──recurs after the grace window──▶ regressed
 *     ▲               │                                           │
 *     └────reopen─────┘◀──────────────solve───────────────────────┘
 *   any ──mute──▶ muted (counted, never regresses, never commented) ──unmute──▶ open
 *
 * A person (the API, the CLI) or a tracker (two-way sync) sets `open`,
 * `solved` or `muted`; `regressed` is only reached by a recurrence. Every
 * change carries a time and a store keeps the latest: a change older than the
 * ticket's `stateChangedAt` changes nothing. That is how a change learned
 * from a tracker and one made in the store meet: the later one wins.
 *
 * A solve names the release the problem is solved in (StateChangeOptions):
 * then only a recurrence from a later release regresses the ticket,
 * whenever it comes (ticket-merge.ts).
 */

import { LogticketsError } from '../errors.js';
import { checkReleaseText } from './release-text.js';

export type TicketState = 'open' | 'solved' | 'regressed' | 'muted';
export const TICKET_STATES: readonly TicketState[] = ['open', 'solved', 'regressed', 'muted'];

/** The states a person or a tracker sets (a regression is only reached by a recurrence). */
export type SettableState = 'open' | 'solved' | 'muted';
export const SETTABLE_STATES: readonly SettableState[] = ['open', 'solved', 'muted'];

export interface StateChangeOptions {
  /**
   * When the change was made (ISO 8601; default now). A store applies it only
   * when it is not older than the ticket's last state change.
   */
  readonly at?: string;
  /**
   * Only meaningful when solving: the release the problem is solved in. Left
   * out (undefined), the newest release the store has seen for the ticket's
   * app id (release-order.ts), or none when it has seen none; null: solved
   * without a release (a recurrence then reopens it after the grace window,
   * as always). Reopening, muting or a regression clears it.
   */
  readonly release?: string | null;
}

/**
 * How long after a ticket is solved an occurrence still counts without
 * reopening it (occurrences already in flight when it was solved): 60 s.
 */
export const REGRESSION_GRACE_MS = 60_000;

/** The longest grace window: a year (a longer one would mean "never regress": mute the ticket instead). */
export const MAX_REGRESSION_GRACE_MS = 366 * 24 * 3_600_000;

/** What a state is derived from (the fields every store keeps). */
export interface StateFields {
  readonly solved: boolean;
  readonly mutedAt: string | null;
  readonly lastRegressionAt: string | null;
  readonly stateChangedAt: string | null;
}

/** The state of a ticket from its fields. */
export function stateOf(t: StateFields): TicketState {
  if (t.mutedAt !== null) return 'muted';
  if (t.solved) return 'solved';
  const regressionLast =
    t.lastRegressionAt !== null && (t.stateChangedAt === null || t.lastRegressionAt >= t.stateChangedAt);
  return regressionLast ? 'regressed' : 'open';
}

/** The state a tracker can show for a store state: a regression is open there. */
export function settable(state: TicketState): SettableState {
  return state === 'regressed' ? 'open' : state;
}

/** The options of a state change, checked; returns the time to record (ISO 8601, UTC). */
export function changeTime(options: StateChangeOptions | undefined, now: Date): string {
  if (options === undefined || options === null) return now.toISOString();
  if (typeof options !== 'object')
    throw new LogticketsError('INVALID_ARGUMENT', 'state change options must be an object like { at }');
  for (const key of Object.keys(options)) {
    if (key !== 'at' && key !== 'release')
      throw new LogticketsError('INVALID_ARGUMENT', `state change options: unknown option ${key}`);
  }
  changeRelease(options);
  if (options.at === undefined) return now.toISOString();
  const at = typeof options.at === 'string' ? Date.parse(options.at) : NaN;
  if (!Number.isFinite(at))
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      `state change options.at must be an ISO 8601 time, got ${JSON.stringify(options.at)}`,
    );
  return new Date(at).toISOString();
}

/**
 * The release a solve is made in, checked (see StateChangeOptions.release):
 * undefined when the store is to choose it, null for none.
 */
export function changeRelease(options: StateChangeOptions | undefined): string | null | undefined {
  if (options === undefined || options === null || typeof options !== 'object') return undefined;
  return checkReleaseText(options.release, 'state change options.release');
}

export function checkSettableState(state: unknown): SettableState {
  if (!SETTABLE_STATES.includes(state as SettableState)) {
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      `a ticket's state can be set to ${SETTABLE_STATES.join(', ')}, got ${JSON.stringify(state)}`,
    );
  }
  return state as SettableState;
}
