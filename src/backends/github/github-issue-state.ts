/**
 * A GitHub issue's state as logtickets understands it, and the PATCH
 * requests that bring an issue to a state.
 *
 * Reading: an issue carrying a muted label (`wontfix`, `muted` by default),
 * or closed as not planned or as a duplicate, is muted; any other closed
 * issue is solved; the rest is open. Its state dates from `closed_at` when
 * closed, else from its last update.
 *
 * Writing: solved is closed as completed, muted closed as not planned, open
 * is open again (state_reason `reopened`); going to open or solved drops the
 * muted labels in the same request. GitHub ignores a new state_reason unless
 * the state itself changes, so an issue closed as the other kind is reopened
 * first, then closed again: two requests. No comment is written.
 */

import type { SettableState } from '../ticket-state.js';
import type { TrackerChange } from '../tracker/tracker.js';
import { labelNames, type Issue } from './github-issues.js';

/** What one PATCH of an issue changes. */
export interface IssueStatePatch {
  readonly state: 'open' | 'closed';
  readonly state_reason: 'completed' | 'not_planned' | 'reopened';
  /** The issue's labels, replaced (only when muted labels are dropped). */
  readonly labels?: string[];
}

/** Reasons for closing that mean "not to be fixed here". */
const MUTED_REASONS: ReadonlySet<string> = new Set(['not_planned', 'duplicate']);

/** Whether one of the issue's labels is a muted one (names compared without case, as GitHub does). */
function hasMutedLabel(labels: readonly string[], mutedLabels: ReadonlySet<string>): boolean {
  return labels.some((l) => mutedLabels.has(l.toLowerCase()));
}

/** The muted labels as the set `issueTicketState` and `statePatches` take: lower case. */
export function mutedLabelSet(labels: readonly string[]): ReadonlySet<string> {
  return new Set(labels.map((l) => l.toLowerCase()));
}

export function issueTicketState(issue: Issue, mutedLabels: ReadonlySet<string>): SettableState {
  if (hasMutedLabel(labelNames(issue), mutedLabels)) return 'muted';
  if (issue.state !== 'closed') return 'open';
  return MUTED_REASONS.has(issue.state_reason ?? '') ? 'muted' : 'solved';
}

/** The change an issue from a listing stands for. */
export function issueChange(issue: Issue, mutedLabels: ReadonlySet<string>): TrackerChange {
  const closed = issue.state === 'closed';
  const updatedAt = new Date(issue.updated_at).toISOString();
  return {
    externalId: String(issue.number),
    state: closed ? 'closed' : 'open',
    resolution: closed ? (issue.state_reason ?? null) : null,
    updatedAt,
    labels: labelNames(issue),
    ticketState: issueTicketState(issue, mutedLabels),
    stateAt: closed && issue.closed_at ? new Date(issue.closed_at).toISOString() : updatedAt,
  };
}

/** The requests that bring the issue to `target`, in order; none when it is there already. */
export function statePatches(issue: Issue, target: SettableState, mutedLabels: ReadonlySet<string>): IssueStatePatch[] {
  if (issueTicketState(issue, mutedLabels) === target) return [];
  const labels = labelNames(issue);
  const keep =
    target !== 'muted' && hasMutedLabel(labels, mutedLabels)
      ? { labels: labels.filter((l) => !mutedLabels.has(l.toLowerCase())) }
      : {};
  if (target === 'open') return [{ state: 'open', state_reason: 'reopened', ...keep }];
  const close: IssueStatePatch = {
    state: 'closed',
    state_reason: target === 'solved' ? 'completed' : 'not_planned',
    ...keep,
  };
  if (issue.state !== 'closed') return [close];
  const closedAs = MUTED_REASONS.has(issue.state_reason ?? '') ? 'muted' : 'solved';
  // Closed as wanted, with only a muted label in the way: the labels alone change.
  if (closedAs === target) return [close];
  return [{ state: 'open', state_reason: 'reopened' }, close];
}
