/**
 * Trac as a Tracker: one Trac ticket per problem, comments for later
 * occurrences, reopened on regression. How each step is done over Trac's
 * XML-RPC API:
 * - the fingerprint lives in a custom field (or, without one, the keywords),
 *   and is how a problem's ticket is found again;
 * - a ticket closed as fixed is reopened through the workflow (the `reopen`
 *   action found with ticket.getActions, with a fresh `_ts`) with a
 *   regression comment, unless the store asks for a comment only; one closed
 *   with a muted resolution, or with the keyword `muted`, stays as it is;
 * - `setState` resolves, mutes or reopens through the workflow too
 *   (trac-ticket-state.ts);
 * - tickets changed since a time come from ticket.getRecentChanges, then one
 *   system.multicall of ticket.get per hundred of them;
 * - the delivery ids of a write travel in a hidden `#!comment` block at the
 *   end of the description or comment (trac-wiki.ts), and `deliveredIn` reads
 *   them back from ticket.get and ticket.changeLog.
 *
 * Writes (ticket.create, ticket.update) are never sent again after a failure
 * that leaves it unknown whether Trac acted (a timeout, a cut connection, an
 * HTTP 5xx): the error goes to the deliverer, which asks `deliveredIn` first.
 * The one write sent twice is a comment Trac refused as a mid-air collision
 * (the ticket changed since it was read): Trac wrote nothing then.
 */

import { LogticketsError } from '../../errors.js';
import { rateLimitedStderr } from '../../logging/internal-error.js';
import { checkOptions } from '../../options.js';
import { checkWindows, type BudgetWindow } from '../tracker-state.js';
import type { OccurrenceSummary } from '../tracker/occurrence-summary.js';
import type { SetupCheck } from '../tracker/setup-check.js';
import type { SettableState } from '../ticket-state.js';
import { sinceSecond } from '../tracker/ticket-text.js';
import type {
  AddResult,
  SetStateResult,
  Tracker,
  TrackerCallOptions,
  TrackerChange,
  TrackerProblem,
  TrackerWriteOptions,
} from '../tracker/tracker.js';
import { checkTracSetup, tracTicketUrl } from './trac-setup-check.js';
import { setTracState, tracChange, tracTicketState } from './trac-ticket-state.js';
import { keywordsOf, signal, TracTickets, type TracTicket } from './trac-tickets.js';
import { deliveryIdsOf, occurrenceComment, ticketDescription, ticketSummary } from './trac-wiki.js';
import { XmlRpcClient, type XmlRpcClientOptions } from './xmlrpc-client.js';

export interface TracTicketFields {
  readonly type?: string;
  readonly component?: string;
  readonly priority?: string;
  readonly milestone?: string;
  readonly owner?: string;
  readonly keywords?: string;
  readonly cc?: string;
  readonly version?: string;
}

/** The connection (url, username, password, timeoutMs, tls, proxy) is the XML-RPC client's. */
export interface TracTrackerOptions extends Omit<XmlRpcClientOptions, 'name'> {
  /** Fields given to new tickets. */
  readonly fields?: TracTicketFields;
  /** The custom text field holding the fingerprint (default `logtickets_hash`). */
  readonly hashField?: string;
  /** Resolutions that mean "do not reopen" (default wontfix, invalid, duplicate). */
  readonly mutedResolutions?: readonly string[];
  /**
   * Writes the Trac server allows per window, kept for the whole fleet by the
   * store (default: no limit; Trac itself has none, a proxy in front may).
   */
  readonly writeBudget?: readonly BudgetWindow[];
}

/** ticket.changeLog: time, author, field, old value, new value, permanent. */
type TracChange = [Date, string, string, string, string, number];
type Signal = TrackerCallOptions | undefined;

export class TracTracker implements Tracker {
  readonly name: string;
  readonly writeBudget?: readonly BudgetWindow[];
  private readonly rpc: XmlRpcClient;
  private readonly url: string;
  private readonly username: string | undefined;
  private readonly hashField: string;
  private readonly fields: TracTicketFields;
  private readonly muted: ReadonlySet<string>;
  private readonly warn: (key: string, message: string) => void;
  private readonly tickets: TracTickets;
  private fieldMode: Promise<'custom' | 'keywords'> | undefined;

  constructor(options: TracTrackerOptions) {
    checkOptions('TracTracker options', options, {
      url: 'string',
      username: 'string',
      password: 'string',
      timeoutMs: { integer: { min: 1 } },
      tls: 'object',
      proxy: 'any',
      fields: 'object',
      hashField: 'string',
      mutedResolutions: 'array',
      writeBudget: 'array',
    });
    if (options?.url === undefined)
      throw new LogticketsError('INVALID_ARGUMENT', 'TracTracker options.url is required');
    checkOptions('TracTracker options.fields', options.fields, {
      type: 'string',
      component: 'string',
      priority: 'string',
      milestone: 'string',
      owner: 'string',
      keywords: 'string',
      cc: 'string',
      version: 'string',
    });
    const hashField = options.hashField ?? 'logtickets_hash';
    if (!/^[a-z][a-z0-9_]*$/.test(hashField)) {
      throw new LogticketsError(
        'INVALID_ARGUMENT',
        `TracTracker options.hashField must be a Trac field name, got ${JSON.stringify(hashField)}`,
      );
    }
    if (options.writeBudget !== undefined) this.writeBudget = budgetOf(options.writeBudget);
    this.name = tracTrackerName(options.url);
    // The client checks the URL (a clear INVALID_ARGUMENT naming `url`).
    this.rpc = new XmlRpcClient({ ...options, name: this.name });
    this.url = options.url;
    this.username = options.username;
    this.hashField = hashField;
    this.fields = options.fields ?? {};
    this.muted = new Set(options.mutedResolutions ?? ['wontfix', 'invalid', 'duplicate']);
    const report = rateLimitedStderr();
    this.warn = (key, message) => report(`${this.name}|${key}`, message);
    this.tickets = new TracTickets({ rpc: this.rpc, name: this.name, warn: this.warn });
  }

  /** See trac-setup-check.ts: what is checked, how, and in which order. */
  checkSetup(): Promise<SetupCheck[]> {
    return checkTracSetup({ rpc: this.rpc, url: this.url, username: this.username, hashField: this.hashField });
  }

  /** `<Trac project root>/ticket/<id>`: the RPC URL without its `/login/rpc` (or `/rpc`, `/xmlrpc`, `/jsonrpc`). */
  ticketUrl(externalId: string): string {
    return tracTicketUrl(this.url, externalId);
  }

  async find(problem: TrackerProblem, options?: TrackerCallOptions): Promise<string | undefined> {
    const condition = await this.fingerprintCondition(problem.hash, options);
    const ids = await this.rpc.call<number[]>('ticket.query', [`${condition}&max=0&order=id`], signal(options));
    return ids[0] === undefined ? undefined : String(ids[0]);
  }

  async create(problem: TrackerProblem, summary: OccurrenceSummary, options?: TrackerWriteOptions): Promise<string> {
    const ids = options?.deliveryIds ?? [];
    const description = ticketDescription(summary, problem.appId, problem.hash, ids);
    const mode = await this.mode(options);
    const attributes: Record<string, string> = { type: 'defect', ...this.fields };
    if (mode === 'custom') attributes[this.hashField] = problem.hash;
    else attributes.keywords = [this.fields.keywords, `logtickets:${problem.hash}`].filter(Boolean).join(' ');
    // Outside any try: a refusal (budget, lease) reaches the caller as it is.
    await options?.beforeWrite?.();
    const id = await this.rpc.call<number>(
      'ticket.create',
      [ticketSummary(summary), description, attributes, false],
      signal(options),
    );
    return String(id);
  }

  async addOccurrences(id: string, summary: OccurrenceSummary, options?: TrackerWriteOptions): Promise<AddResult> {
    const ids = options?.deliveryIds ?? [];
    let ticket: TracTicket;
    try {
      ticket = await this.tickets.get(Number(id), options);
    } catch (error) {
      if (error instanceof LogticketsError && error.faultCode === 404) return 'gone';
      throw error;
    }
    const state = tracTicketState(ticket.attrs, this.muted);
    if (state === 'muted') return 'muted';
    if (state === 'solved' && options?.reopen !== false) {
      await this.tickets.workflow(ticket, 'reopen', occurrenceComment(summary, true, ids), options);
      return 'reopened';
    }
    // Open, or solved with the store asking for a comment only: `leave` comments on a closed ticket too.
    await this.tickets.update(ticket, occurrenceComment(summary, false, ids), { action: 'leave' }, options);
    return 'commented';
  }

  /**
   * The ids found in the hidden blocks of the description and of the comments
   * made at or after `since`. Trac gives change times in whole seconds, so
   * `since` is taken down to its second: a comment made in the same second
   * counts. A ticket that does not exist (fault 404) carries none.
   */
  async deliveredIn(
    externalId: string,
    deliveryIds: readonly string[],
    since: Date,
    options?: TrackerCallOptions,
  ): Promise<string[]> {
    const from = sinceSecond(since).getTime();
    const wanted = new Set(deliveryIds.map((id) => id.toLowerCase()));
    if (wanted.size === 0) return [];
    let texts: string[];
    try {
      const ticket = await this.tickets.get(Number(externalId), options);
      const log = await this.rpc.call<TracChange[]>('ticket.changeLog', [ticket.id], signal(options));
      texts = [ticket.attrs.description ?? ''];
      for (const [time, , field, , text] of log) {
        if (field === 'comment' && time.getTime() >= from) texts.push(text);
      }
    } catch (error) {
      if (error instanceof LogticketsError && error.faultCode === 404) return [];
      throw error;
    }
    const found = new Set(texts.flatMap(deliveryIdsOf));
    return [...wanted].filter((id) => found.has(id));
  }

  /**
   * Tickets of logtickets (those carrying a fingerprint) changed at or after
   * `since`, oldest first: ticket.getRecentChanges, then the tickets read a
   * hundred per request (a ticket deleted after it was listed is left out).
   * The time of a ticket's state is the time of its last change.
   */
  async changedSince(since: Date, options?: TrackerCallOptions): Promise<TrackerChange[]> {
    const ids = await this.rpc.call<number[]>('ticket.getRecentChanges', [since], signal(options));
    const changes: TrackerChange[] = [];
    for (const ticket of await this.tickets.getMany(ids, options)) {
      const { attrs } = ticket;
      const ours =
        (attrs[this.hashField] ?? '') !== '' || keywordsOf(attrs).some((k) => /^logtickets:[0-9a-f]{40}$/.test(k));
      if (ours) changes.push(tracChange(ticket, this.muted));
    }
    return changes.sort((a, b) => (a.updatedAt < b.updatedAt ? -1 : a.updatedAt > b.updatedAt ? 1 : 0));
  }

  /** One ticket.get; undefined for a ticket that does not exist (fault 404). */
  async readState(externalId: string, options?: TrackerCallOptions): Promise<TrackerChange | undefined> {
    try {
      return tracChange(await this.tickets.get(Number(externalId), options), this.muted);
    } catch (error) {
      if (error instanceof LogticketsError && error.faultCode === 404) return undefined;
      throw error;
    }
  }

  /** See trac-ticket-state.ts: through the workflow, one comment per update, nothing written when already so. */
  setState(externalId: string, state: SettableState, options?: TrackerWriteOptions): Promise<SetStateResult> {
    const target = { tickets: this.tickets, name: this.name, mutedResolutions: this.muted };
    return setTracState(target, Number(externalId), state, options);
  }

  async close(): Promise<void> {
    // Each request has its own connection (no keep-alive): nothing is held.
  }

  /** Whether the fingerprint field exists (Trac ignores a condition on an undefined field and matches everything). */
  private mode(options?: TrackerCallOptions): Promise<'custom' | 'keywords'> {
    this.fieldMode ??= this.rpc
      .call<Array<{ name: string }>>('ticket.getTicketFields', [], signal(options))
      .then((fields) => {
        if (fields.some((f) => f.name === this.hashField)) return 'custom' as const;
        this.warn(
          'field',
          `${this.name}: Trac has no custom field "${this.hashField}" (add [ticket-custom] ${this.hashField} = text to trac.ini); using the keywords field instead`,
        );
        return 'keywords' as const;
      })
      .catch((error: unknown) => {
        this.fieldMode = undefined;
        throw error;
      });
    return this.fieldMode;
  }

  private async fingerprintCondition(hash: string, options: Signal): Promise<string> {
    return (await this.mode(options)) === 'custom' ? `${this.hashField}=${hash}` : `keywords=~logtickets:${hash}`;
  }
}

/** `trac:<endpoint>`, credential-free: the tracker's name in stats, errors, links and the outbox. */
export function tracTrackerName(url: string): string {
  try {
    const parsed = new URL(url);
    return `trac:${parsed.origin}${parsed.pathname}`;
  } catch {
    return 'trac';
  }
}

/** A frozen copy of checked windows; a bad one is an INVALID_ARGUMENT naming the option. */
function budgetOf(windows: readonly BudgetWindow[]): readonly BudgetWindow[] {
  try {
    checkWindows(windows);
  } catch (error) {
    if (!(error instanceof LogticketsError)) throw error;
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      `TracTracker options.writeBudget${error.message.replace(/^windows/, '')}`,
    );
  }
  return Object.freeze(windows.map((w) => Object.freeze({ writes: w.writes, perMs: w.perMs })));
}
