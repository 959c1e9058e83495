/**
 * A Trac ticket's state as logtickets understands it, and how TracTracker
 * brings a ticket to a state (`setState`).
 *
 * Reading: a ticket with the keyword `muted`, or closed with a muted
 * resolution (wontfix, invalid, duplicate by default) is muted; any other
 * closed ticket is solved; the rest is open.
 *
 * Writing goes through the workflow, as a person's change would: the action
 * that resolves is the one asking for a resolution (its input field is
 * `action_<name>_resolve_resolution`), set to `fixed` (solved) or `wontfix`
 * (muted); `reopen` opens. A ticket closed with a resolution of the other
 * kind is reopened first, then resolved: two updates, each read fresh (its
 * `_ts`) and each with a short comment carrying the delivery ids. Going to
 * open or solved also drops the `muted` keyword, in the last update.
 *
 * A ticket someone changes while its state is being set (Trac refuses the
 * update as a mid-air collision or as an action its status no longer has, or
 * the action is gone from its workflow) is not changed again on top of that:
 * a retryable error says so, and the deliverer reads the ticket again before
 * it decides what to write.
 */

import { LogticketsError } from '../../errors.js';
import type { SettableState } from '../ticket-state.js';
import type { SetStateResult, TrackerChange, TrackerWriteOptions } from '../tracker/tracker.js';
import {
  inputsOf,
  keywordsOf,
  midAirCollision,
  type TracAction,
  type TracTicket,
  type TracTickets,
} from './trac-tickets.js';
import { stateComment } from './trac-wiki.js';

/** The keyword a person gives a ticket that logtickets must leave alone, whatever its status. */
export const MUTED_KEYWORD = 'muted';

/** The state of a ticket from its attributes. */
export function tracTicketState(attrs: Record<string, string>, mutedResolutions: ReadonlySet<string>): SettableState {
  if (keywordsOf(attrs).includes(MUTED_KEYWORD)) return 'muted';
  if (attrs.status !== 'closed') return 'open';
  return mutedResolutions.has(attrs.resolution ?? '') ? 'muted' : 'solved';
}

/** A ticket as `changedSince` lists it: its labels are its keywords but the fingerprint; its state dates from its last change. */
export function tracChange(ticket: TracTicket, mutedResolutions: ReadonlySet<string>): TrackerChange {
  const { attrs } = ticket;
  const closed = attrs.status === 'closed';
  const changed = ticket.changed.toISOString();
  return {
    externalId: String(ticket.id),
    state: closed ? 'closed' : 'open',
    resolution: closed && attrs.resolution ? attrs.resolution : null,
    updatedAt: changed,
    labels: keywordsOf(attrs).filter((k) => !k.startsWith('logtickets:')),
    ticketState: tracTicketState(attrs, mutedResolutions),
    stateAt: changed,
  };
}

export interface TracStateTarget {
  readonly tickets: TracTickets;
  readonly name: string;
  readonly mutedResolutions: ReadonlySet<string>;
}

/** See the top of this file. A ticket that does not exist (fault 404) is `gone`. */
export async function setTracState(
  target: TracStateTarget,
  id: number,
  state: SettableState,
  options: TrackerWriteOptions | undefined,
): Promise<SetStateResult> {
  const { tickets, mutedResolutions } = target;
  let ticket: TracTicket;
  try {
    ticket = await tickets.get(id, options);
  } catch (error) {
    if (error instanceof LogticketsError && error.faultCode === 404) return 'gone';
    throw error;
  }
  if (tracTicketState(ticket.attrs, mutedResolutions) === state) return 'unchanged';
  const ids = options?.deliveryIds ?? [];
  const keywords = keywordsOf(ticket.attrs);
  const extra: Record<string, string> =
    state !== 'muted' && keywords.includes(MUTED_KEYWORD)
      ? { keywords: keywords.filter((k) => k !== MUTED_KEYWORD).join(' ') }
      : {};
  const closed = ticket.attrs.status === 'closed';
  const leave = (comment: string) => update(target, ticket, comment, { action: 'leave', ...extra }, options);
  if (state === 'open') {
    if (closed) await runAction(target, ticket, 'reopen', undefined, stateComment('open', ids), extra, options);
    else await leave(stateComment('open', ids));
    return 'changed';
  }
  if (closed) {
    // Closed already: solved with only the keyword in the way, or closed as the other kind.
    const muted = mutedResolutions.has(ticket.attrs.resolution ?? '');
    if (state === 'solved' && !muted) {
      await leave(stateComment(state, ids));
      return 'changed';
    }
    await runAction(target, ticket, 'reopen', undefined, stateComment('open', ids), {}, options);
    ticket = await tickets.get(id, options);
  }
  await runAction(target, ticket, 'resolve', state, stateComment(state, ids), extra, options);
  return 'changed';
}

/**
 * Run the workflow action named `name` (or, to resolve, any action asking
 * for a resolution), with the resolution chosen for `as`. Unlike an
 * occurrence's reopen, a missing action fails: the state asked for cannot be
 * reached, and saying `changed` would be wrong.
 */
async function runAction(
  target: TracStateTarget,
  ticket: TracTicket,
  name: 'reopen' | 'resolve',
  as: 'solved' | 'muted' | undefined,
  comment: string,
  extra: Record<string, string>,
  options: TrackerWriteOptions | undefined,
): Promise<void> {
  const actions = await target.tickets.actions(ticket, options);
  if (as === undefined) {
    const found = actions.find(([action]) => action === name);
    if (found === undefined) throw await noAction(target, ticket, `"${name}" action`, options);
    await update(target, ticket, comment, { action: name, ...inputsOf(found), ...extra }, options);
    return;
  }
  const resolving = actions
    .map((action) => ({ action, field: resolutionField(action) }))
    .filter((a) => a.field !== undefined)
    .sort((a, b) => Number(b.action[0] === name) - Number(a.action[0] === name))[0];
  if (resolving === undefined) throw await noAction(target, ticket, 'action that resolves it', options);
  const [field, , choices] = resolving.field!;
  const resolution = chooseResolution(choices, as, target.mutedResolutions);
  if (resolution === undefined) throw await noAction(target, ticket, `resolution that means ${as}`, options);
  const attributes = { action: resolving.action[0], ...inputsOf(resolving.action), [field]: resolution, ...extra };
  await update(target, ticket, comment, attributes, options);
}

/**
 * One update, not sent again when Trac refuses it (fault 1: nothing was
 * written) because someone changed the ticket since it was read.
 */
async function update(
  target: TracStateTarget,
  ticket: TracTicket,
  comment: string,
  attributes: Record<string, string>,
  options: TrackerWriteOptions | undefined,
): Promise<void> {
  try {
    await target.tickets.update(ticket, comment, attributes, options, false);
  } catch (error) {
    if (midAirCollision(error)) throw changedMeanwhile(target, ticket, error);
    if (error instanceof LogticketsError && error.faultCode === 1 && (await changedSinceRead(target, ticket, options)))
      throw changedMeanwhile(target, ticket, error);
    throw error;
  }
}

/** Whether the ticket is not as it was read (another `_ts`, or deleted). */
async function changedSinceRead(
  target: TracStateTarget,
  ticket: TracTicket,
  options: TrackerWriteOptions | undefined,
): Promise<boolean> {
  try {
    return ((await target.tickets.get(ticket.id, options)).attrs._ts ?? '') !== (ticket.attrs._ts ?? '');
  } catch (error) {
    if (error instanceof LogticketsError && error.faultCode === 404) return true;
    throw error;
  }
}

function changedMeanwhile(target: TracStateTarget, ticket: TracTicket, cause?: unknown): LogticketsError {
  return new LogticketsError(
    'TRACKER_FAULT',
    `${target.name}: ticket #${ticket.id} changed while its state was being set; it is read again before the next try`,
    { backend: target.name, retryable: true, cause },
  );
}

/** The input of an action that sets the resolution (`action_<name>_resolve_resolution`). */
function resolutionField(action: TracAction): [string, string, string[]] | undefined {
  return (action[3] ?? []).find(([input]) => input === `action_${action[0]}_resolve_resolution`);
}

/** `fixed` for solved and `wontfix` for muted, or else the first choice of that kind. */
function chooseResolution(
  choices: readonly string[],
  as: 'solved' | 'muted',
  muted: ReadonlySet<string>,
): string | undefined {
  const wanted = as === 'solved' ? 'fixed' : 'wontfix';
  if (choices.length === 0 || choices.includes(wanted)) return wanted;
  return choices.find((c) => muted.has(c) === (as === 'muted'));
}

/**
 * The error for an action the workflow does not offer: the ticket changed
 * since it was read (retryable), or the workflow or the user's permissions
 * do not allow it.
 */
async function noAction(
  target: TracStateTarget,
  ticket: TracTicket,
  what: string,
  options: TrackerWriteOptions | undefined,
): Promise<LogticketsError> {
  if (await changedSinceRead(target, ticket, options)) return changedMeanwhile(target, ticket);
  return new LogticketsError(
    'TRACKER_FAULT',
    `${target.name}: ticket #${ticket.id} (${ticket.attrs.status ?? '?'}) has no ${what} in its workflow for this user now`,
    { backend: target.name },
  );
}
