/**
 * A Tracker kept in memory: the reference for what a tracker does, and a
 * stand-in for a real tracker in tests of an application. It behaves as Trac
 * and GitHub do for logtickets — one ticket per problem found by its marker,
 * comments with the same text, a regression reopens a ticket closed as
 * solved, a muted one (closed as wontfix or not planned, or labelled
 * `wontfix` or `muted`) stays as it is, `setState` solves, mutes or reopens
 * without a comment — and lets a test act as a person would (close, reopen,
 * delete, label a ticket) and look at what was written, and lets a test make
 * it fail as trackers do: a write's answer lost after the write was made
 * (`loseAnswer`), writes made but never answered (`holdAnswers`), or every
 * request refused (`down`).
 */

import { LogticketsError } from '../../errors.js';
import { checkOptions } from '../../options.js';
import type { SettableState } from '../ticket-state.js';
import type { OccurrenceSummary } from './occurrence-summary.js';
import type { SetupCheck } from './setup-check.js';
import type { BudgetWindow } from '../tracker-state.js';
import { deliveryIdsIn, deliveryMarker, describeOccurrences, describeProblem, type Markup } from './ticket-text.js';
import type {
  AddResult,
  SetStateResult,
  Tracker,
  TrackerCallOptions,
  TrackerChange,
  TrackerProblem,
  TrackerWriteOptions,
} from './tracker.js';

export interface MemoryTrackerOptions {
  /** The tracker's name (default `memory:tracker`); two trackers of one TrackedStore need different names. */
  readonly name?: string;
  /** Resolutions that mean "do not reopen" (default wontfix, invalid, duplicate, not_planned). */
  readonly mutedResolutions?: readonly string[];
  /** The clock (default the system's). */
  readonly now?: () => Date;
  /** Writes allowed per window, kept fleet-wide by the store (default: no limit). */
  readonly writeBudget?: readonly BudgetWindow[];
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
  /** When each comment was made, in the order of `comments`. */
  readonly commentTimes: string[];
  readonly created: string;
  updated: string;
}

/** Labels a person gives a ticket that logtickets must leave alone. */
const MUTED_LABELS: readonly string[] = ['wontfix', 'muted'];

type WriteKind = 'create' | 'comment' | 'state';

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
  private lost: { kind: WriteKind; times: number } | undefined;
  private isDown = false;
  private held: { promise: Promise<void>; release: () => void } | undefined;
  readonly writeBudget: readonly BudgetWindow[] | undefined;
  /** Requests made, by kind: what a test may count (`writes`: tickets, comments and state changes made; `refused`: while down). */
  readonly calls = {
    find: 0,
    create: 0,
    addOccurrences: 0,
    changedSince: 0,
    deliveredIn: 0,
    readState: 0,
    setState: 0,
    writes: 0,
    refused: 0,
  };

  constructor(options: MemoryTrackerOptions = {}) {
    checkOptions('MemoryTracker options', options, {
      name: 'string',
      mutedResolutions: 'array',
      now: 'function',
      writeBudget: 'array',
    });
    this.writeBudget = options.writeBudget;
    this.name = options.name ?? 'memory:tracker';
    if (this.name === '') throw new LogticketsError('INVALID_ARGUMENT', 'MemoryTracker options.name is empty');
    this.muted = new Set(options.mutedResolutions ?? ['wontfix', 'invalid', 'duplicate', 'not_planned']);
    this.now = options.now ?? (() => new Date());
  }

  async find(problem: TrackerProblem, options?: TrackerCallOptions): Promise<string | undefined> {
    this.enter(options);
    this.calls.find++;
    // The oldest ticket of a fingerprint wins, as with the real trackers.
    for (const ticket of this.tickets.values()) if (ticket.hash === problem.hash) return ticket.id;
    return undefined;
  }

  async create(problem: TrackerProblem, summary: OccurrenceSummary, options?: TrackerWriteOptions): Promise<string> {
    this.enter(options);
    this.calls.create++;
    await options?.beforeWrite?.();
    aborted(options);
    this.calls.writes++;
    const id = String(this.next++);
    const at = this.now().toISOString();
    this.tickets.set(id, {
      id,
      appId: problem.appId,
      hash: problem.hash,
      title: summary.title,
      description: withMarker(describeProblem(PLAIN, summary, problem.appId, problem.hash, 'ticket'), options),
      state: 'open',
      resolution: null,
      labels: [],
      comments: [],
      commentTimes: [],
      created: at,
      updated: at,
    });
    await this.answer('create', options);
    return id;
  }

  async addOccurrences(id: string, summary: OccurrenceSummary, options?: TrackerWriteOptions): Promise<AddResult> {
    this.enter(options);
    this.calls.addOccurrences++;
    const ticket = this.tickets.get(id);
    if (ticket === undefined) return 'gone';
    const state = this.stateOf(ticket);
    if (state === 'muted') return 'muted';
    // A ticket closed as solved is reopened, unless the store asks for a comment only.
    const regressed = state === 'solved' && options?.reopen !== false;
    await options?.beforeWrite?.();
    aborted(options);
    this.calls.writes++;
    if (regressed) {
      ticket.state = 'open';
      ticket.resolution = null;
      if (!ticket.labels.includes('regression')) ticket.labels.push('regression');
    }
    ticket.comments.push(withMarker(describeOccurrences(PLAIN, summary, regressed, 'ticket'), options));
    ticket.updated = this.now().toISOString();
    ticket.commentTimes.push(ticket.updated);
    await this.answer('comment', options);
    return regressed ? 'reopened' : 'commented';
  }

  async deliveredIn(
    id: string,
    deliveryIds: readonly string[],
    since: Date,
    options?: TrackerCallOptions,
  ): Promise<string[]> {
    this.enter(options);
    this.calls.deliveredIn++;
    const ticket = this.tickets.get(id);
    if (ticket === undefined) return [];
    const from = since.toISOString();
    const texts = [ticket.description, ...ticket.comments.filter((_, i) => ticket.commentTimes[i]! >= from)];
    const carried = new Set(texts.flatMap((text) => deliveryIdsIn(text)));
    return deliveryIds.filter((d) => carried.has(d.toLowerCase()));
  }

  async checkSetup(): Promise<SetupCheck[]> {
    return [{ name: 'reachable', ok: true, detail: `${this.tickets.size} tickets in memory` }];
  }

  ticketUrl(externalId: string): string {
    return `memory://${encodeURIComponent(this.name)}/tickets/${encodeURIComponent(externalId)}`;
  }

  async changedSince(since: Date, options?: TrackerCallOptions): Promise<TrackerChange[]> {
    this.enter(options);
    this.calls.changedSince++;
    const from = since.toISOString();
    return [...this.tickets.values()]
      .filter((t) => t.updated >= from)
      .sort((a, b) => (a.updated < b.updated ? -1 : a.updated > b.updated ? 1 : Number(a.id) - Number(b.id)))
      .map((t) => this.changeOf(t));
  }

  async readState(id: string, options?: TrackerCallOptions): Promise<TrackerChange | undefined> {
    this.enter(options);
    this.calls.readState++;
    const ticket = this.tickets.get(id);
    return ticket === undefined ? undefined : this.changeOf(ticket);
  }

  /**
   * Solved: closed as fixed; muted: closed as wontfix; open: open again.
   * Going to open or solved drops the muted labels. Nothing is written when
   * the ticket is in that state already; one write otherwise.
   */
  async setState(id: string, state: SettableState, options?: TrackerWriteOptions): Promise<SetStateResult> {
    this.enter(options);
    this.calls.setState++;
    const ticket = this.tickets.get(id);
    if (ticket === undefined) return 'gone';
    if (this.stateOf(ticket) === state) return 'unchanged';
    await options?.beforeWrite?.();
    aborted(options);
    this.calls.writes++;
    ticket.state = state === 'open' ? 'open' : 'closed';
    ticket.resolution = state === 'open' ? null : state === 'solved' ? 'fixed' : 'wontfix';
    if (state !== 'muted') ticket.labels = ticket.labels.filter((l) => !MUTED_LABELS.includes(l));
    ticket.updated = this.now().toISOString();
    await this.answer('state', options);
    return 'changed';
  }

  async close(): Promise<void> {
    // The tickets stay: a test may look at them after the backend closed.
  }

  // -- what a person does in the tracker, and what a test looks at -------------

  /**
   * The next `times` creates (or comments) are made, then fail as if their
   * answer was lost on the way back (a timeout, a cut connection).
   */
  loseAnswer(kind: WriteKind, times = 1): void {
    this.lost = { kind, times };
  }

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

  /** Open a closed ticket again (no resolution). */
  reopen(id: string): void {
    const ticket = this.must(id);
    ticket.state = 'open';
    ticket.resolution = null;
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

  /** Writes from now on are made but not answered until `release()` (or their signal aborts). */
  holdAnswers(): void {
    if (this.held !== undefined) return;
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.held = { promise, release };
  }

  release(): void {
    this.held?.release();
    this.held = undefined;
  }

  /** Refuse every request (the tracker is down), or serve again. */
  down(on: boolean): void {
    this.isDown = on;
  }

  private enter(options: TrackerCallOptions | undefined): void {
    aborted(options);
    if (!this.isDown) return;
    this.calls.refused++;
    throw new LogticketsError('BACKEND_UNAVAILABLE', `${this.name} is down`, { retryable: true, backend: this.name });
  }

  /** After a write was made: its answer, held back or lost as the test asked. */
  private async answer(kind: WriteKind, options: TrackerCallOptions | undefined): Promise<void> {
    const held = this.held;
    if (held !== undefined) {
      const signal = options?.signal;
      await new Promise<void>((resolve) => {
        void held.promise.then(resolve);
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
      aborted(options);
    }
    if (this.lost?.kind !== kind) return;
    if (--this.lost.times <= 0) this.lost = undefined;
    throw new LogticketsError('TIMEOUT', `the answer to a ${kind} write was lost (made, but not confirmed)`, {
      retryable: true,
      backend: this.name,
    });
  }

  private changeOf(t: MemoryTicket): TrackerChange {
    return {
      externalId: t.id,
      state: t.state,
      resolution: t.resolution,
      updatedAt: t.updated,
      labels: [...t.labels],
      ticketState: this.stateOf(t),
      stateAt: t.updated,
    };
  }

  /** Muted: closed with a muted resolution, or a muted label; solved: closed otherwise; else open. */
  private stateOf(ticket: MemoryTicket): SettableState {
    if (ticket.labels.some((l) => MUTED_LABELS.includes(l))) return 'muted';
    if (ticket.state !== 'closed') return 'open';
    return this.muted.has(ticket.resolution ?? '') ? 'muted' : 'solved';
  }

  private must(id: string): MemoryTicket {
    const ticket = this.tickets.get(id);
    if (ticket === undefined) throw new LogticketsError('TICKET_NOT_FOUND', `${this.name} has no ticket ${id}`);
    return ticket;
  }
}

function withMarker(text: string, options: TrackerWriteOptions | undefined): string {
  const ids = options?.deliveryIds ?? [];
  return ids.length === 0 ? text : `${text}\n[${deliveryMarker(ids)}]`;
}

function aborted(options: TrackerCallOptions | undefined): void {
  if (options?.signal?.aborted === true) {
    throw new LogticketsError('BACKEND_UNAVAILABLE', 'the request was aborted', { retryable: true });
  }
}
