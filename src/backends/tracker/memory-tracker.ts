/**
 * A Tracker kept in memory: the reference for what a tracker does, and a
 * stand-in for a real tracker in tests of an application. It behaves as Trac
 * and GitHub do for logtickets — one ticket per problem found by its marker,
 * comments with the same text, a regression reopens a ticket closed as
 * solved, a muted one stays closed — and lets a test act as a person would
 * (close, delete, label a ticket) and look at what was written.
 */

import { LogticketsError } from '../../errors.js';
import { checkOptions } from '../../options.js';
import type { OccurrenceSummary } from './occurrence-summary.js';
import type { SetupCheck } from './setup-check.js';
import { describeOccurrences, describeProblem, type Markup } from './ticket-text.js';
import type { AddResult, Tracker, TrackerCallOptions, TrackerChange, TrackerProblem } from './tracker.js';

export interface MemoryTrackerOptions {
  /** The tracker's name (default `memory:tracker`); two trackers of one TrackedStore need different names. */
  readonly name?: string;
  /** Resolutions that mean "do not reopen" (default wontfix, invalid, duplicate, not_planned). */
  readonly mutedResolutions?: readonly string[];
  /** The clock (default the system's). */
  readonly now?: () => Date;
}

export interface MemoryTicket {
  readonly id: string;
  readonly appId: string;
  readonly hash: string;
  readonly title: string;
  readonly description: string;
  state: 'open' | 'closed';
  resolution: string | null;
  labels: string[];
  readonly comments: string[];
  readonly created: string;
  updated: string;
}

const PLAIN: Markup = {
  strong: (label) => label,
  block: (content) =>
    content
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n'),
};

export class MemoryTracker implements Tracker {
  readonly name: string;
  private readonly tickets = new Map<string, MemoryTicket>();
  private readonly muted: ReadonlySet<string>;
  private readonly now: () => Date;
  private next = 1;
  /** Requests made, by kind (find, create, addOccurrences, changedSince): what a test may count. */
  readonly calls = { find: 0, create: 0, addOccurrences: 0, changedSince: 0 };

  constructor(options: MemoryTrackerOptions = {}) {
    checkOptions('MemoryTracker options', options, { name: 'string', mutedResolutions: 'array', now: 'function' });
    this.name = options.name ?? 'memory:tracker';
    if (this.name === '') throw new LogticketsError('INVALID_ARGUMENT', 'MemoryTracker options.name is empty');
    this.muted = new Set(options.mutedResolutions ?? ['wontfix', 'invalid', 'duplicate', 'not_planned']);
    this.now = options.now ?? (() => new Date());
  }

  async find(problem: TrackerProblem, options?: TrackerCallOptions): Promise<string | undefined> {
    aborted(options);
    this.calls.find++;
    // The oldest ticket of a fingerprint wins, as with the real trackers.
    for (const ticket of this.tickets.values()) if (ticket.hash === problem.hash) return ticket.id;
    return undefined;
  }

  async create(problem: TrackerProblem, summary: OccurrenceSummary, options?: TrackerCallOptions): Promise<string> {
    aborted(options);
    this.calls.create++;
    const id = String(this.next++);
    const at = this.now().toISOString();
    this.tickets.set(id, {
      id,
      appId: problem.appId,
      hash: problem.hash,
      title: summary.title,
      description: describeProblem(PLAIN, summary, problem.appId, problem.hash, 'ticket'),
      state: 'open',
      resolution: null,
      labels: [],
      comments: [],
      created: at,
      updated: at,
    });
    return id;
  }

  async addOccurrences(id: string, summary: OccurrenceSummary, options?: TrackerCallOptions): Promise<AddResult> {
    aborted(options);
    this.calls.addOccurrences++;
    const ticket = this.tickets.get(id);
    if (ticket === undefined) return 'gone';
    if (ticket.state === 'closed' && this.muted.has(ticket.resolution ?? '')) return 'muted';
    const regressed = ticket.state === 'closed';
    if (regressed) {
      ticket.state = 'open';
      ticket.resolution = null;
      if (!ticket.labels.includes('regression')) ticket.labels.push('regression');
    }
    ticket.comments.push(describeOccurrences(PLAIN, summary, regressed, 'ticket'));
    ticket.updated = this.now().toISOString();
    return regressed ? 'reopened' : 'commented';
  }

  async checkSetup(): Promise<SetupCheck[]> {
    return [{ name: 'reachable', ok: true, detail: `${this.tickets.size} tickets in memory` }];
  }

  ticketUrl(externalId: string): string {
    return `memory://${encodeURIComponent(this.name)}/tickets/${encodeURIComponent(externalId)}`;
  }

  async changedSince(since: Date, options?: TrackerCallOptions): Promise<TrackerChange[]> {
    aborted(options);
    this.calls.changedSince++;
    const from = since.toISOString();
    return [...this.tickets.values()]
      .filter((t) => t.updated >= from)
      .sort((a, b) => (a.updated < b.updated ? -1 : a.updated > b.updated ? 1 : Number(a.id) - Number(b.id)))
      .map((t) => ({
        externalId: t.id,
        state: t.state,
        resolution: t.resolution,
        updatedAt: t.updated,
        labels: [...t.labels],
      }));
  }

  async close(): Promise<void> {
    // The tickets stay: a test may look at them after the backend closed.
  }

  // -- what a person does in the tracker, and what a test looks at -------------

  /** Every ticket, oldest first. */
  list(): MemoryTicket[] {
    return [...this.tickets.values()];
  }

  get(id: string): MemoryTicket | undefined {
    return this.tickets.get(id);
  }

  /** Close a ticket with a resolution (`fixed`, `wontfix`, `not_planned`, …). */
  resolve(id: string, resolution: string): void {
    const ticket = this.must(id);
    ticket.state = 'closed';
    ticket.resolution = resolution;
    ticket.updated = this.now().toISOString();
  }

  /** Replace a ticket's labels. */
  label(id: string, labels: readonly string[]): void {
    const ticket = this.must(id);
    ticket.labels = [...labels];
    ticket.updated = this.now().toISOString();
  }

  delete(id: string): void {
    this.must(id);
    this.tickets.delete(id);
  }

  private must(id: string): MemoryTicket {
    const ticket = this.tickets.get(id);
    if (ticket === undefined) throw new LogticketsError('TICKET_NOT_FOUND', `${this.name} has no ticket ${id}`);
    return ticket;
  }
}

function aborted(options: TrackerCallOptions | undefined): void {
  if (options?.signal?.aborted === true) {
    throw new LogticketsError('BACKEND_UNAVAILABLE', 'the request was aborted', { retryable: true });
  }
}
