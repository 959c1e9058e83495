/**
 * Trac as a Tracker: one Trac ticket per problem, comments for later
 * occurrences, reopened on regression. How each step is done over Trac's
 * XML-RPC API:
 * - the fingerprint lives in a custom field (or, without one, the keywords),
 *   and is how a problem's ticket is found again;
 * - a ticket closed as fixed is reopened through the workflow (the `reopen`
 *   action found with ticket.getActions, with a fresh `_ts`) with a
 *   regression comment; one closed with a muted resolution stays closed;
 * - tickets changed since a time come from ticket.getRecentChanges, then
 *   ticket.get for each one of logtickets;
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
import { sinceSecond } from '../tracker/ticket-text.js';
import type {
  AddResult,
  Tracker,
  TrackerCallOptions,
  TrackerChange,
  TrackerProblem,
  TrackerWriteOptions,
} from '../tracker/tracker.js';
import { checkTracSetup, tracTicketUrl } from './trac-setup-check.js';
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

interface TracTicket {
  readonly id: number;
  readonly created: Date;
  readonly changed: Date;
  readonly attrs: Record<string, string>;
}

type TracAction = [string, string, string, Array<[string, string, string[]]>];
/** ticket.changeLog: time, author, field, old value, new value, permanent. */
type TracChange = [Date, string, string, string, string, number];
type Signal = TrackerCallOptions | undefined;
type Write = TrackerWriteOptions | undefined;

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
      ticket = await this.getTracTicket(Number(id), options);
    } catch (error) {
      if (error instanceof LogticketsError && error.faultCode === 404) return 'gone';
      throw error;
    }
    const closed = ticket.attrs.status === 'closed';
    if (closed && this.muted.has(ticket.attrs.resolution ?? '')) return 'muted';
    if (closed) {
      await this.workflow(ticket, 'reopen', occurrenceComment(summary, true, ids), options);
      return 'reopened';
    }
    await this.update(ticket, occurrenceComment(summary, false, ids), { action: 'leave' }, options);
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
      const ticket = await this.getTracTicket(Number(externalId), options);
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

  /** Tickets of logtickets (those carrying a fingerprint) changed at or after `since`, oldest first. */
  async changedSince(since: Date, options?: TrackerCallOptions): Promise<TrackerChange[]> {
    const ids = await this.rpc.call<number[]>('ticket.getRecentChanges', [since], signal(options));
    const changes: TrackerChange[] = [];
    for (const id of ids) {
      let ticket: TracTicket;
      try {
        ticket = await this.getTracTicket(id, options);
      } catch (error) {
        // Deleted after it was listed.
        if (error instanceof LogticketsError && error.faultCode === 404) continue;
        throw error;
      }
      const { attrs } = ticket;
      const keywords = (attrs.keywords ?? '').split(/[\s,]+/).filter((k) => k !== '');
      const ours = (attrs[this.hashField] ?? '') !== '' || keywords.some((k) => /^logtickets:[0-9a-f]{40}$/.test(k));
      if (!ours) continue;
      const closed = attrs.status === 'closed';
      changes.push({
        externalId: String(ticket.id),
        state: closed ? 'closed' : 'open',
        resolution: closed && attrs.resolution ? attrs.resolution : null,
        updatedAt: ticket.changed.toISOString(),
        labels: keywords.filter((k) => !k.startsWith('logtickets:')),
      });
    }
    return changes.sort((a, b) => (a.updatedAt < b.updatedAt ? -1 : a.updatedAt > b.updatedAt ? 1 : 0));
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

  private async getTracTicket(id: number, options: Signal): Promise<TracTicket> {
    const [tid, created, changed, attrs] = await this.rpc.call<[number, Date, Date, Record<string, string>]>(
      'ticket.get',
      [id],
      signal(options),
    );
    return { id: tid, created, changed, attrs };
  }

  /**
   * Comment (and change attributes). Sent a second time only after Trac
   * refused it as a mid-air collision (nothing written), with a fresh `_ts`;
   * `beforeWrite` is awaited before each send.
   */
  private async update(
    ticket: TracTicket,
    comment: string,
    attributes: Record<string, string>,
    options: Write,
  ): Promise<void> {
    let ts = ticket.attrs._ts ?? '';
    for (let attempt = 1; ; attempt++) {
      await options?.beforeWrite?.();
      try {
        await this.rpc.call('ticket.update', [ticket.id, comment, { ...attributes, _ts: ts }, false], signal(options));
        return;
      } catch (error) {
        if (attempt > 1 || !midAirCollision(error)) throw error;
      }
      ts = (await this.getTracTicket(ticket.id, options)).attrs._ts ?? '';
    }
  }

  /** Run a workflow action (found with ticket.getActions, as workflows are configurable). */
  private async workflow(ticket: TracTicket, action: string, comment: string, options: Write): Promise<void> {
    const actions = await this.rpc.call<TracAction[]>('ticket.getActions', [ticket.id], signal(options));
    const found = actions.find(([name]) => name === action);
    if (found === undefined) {
      this.warn(
        `no-${action}`,
        `${this.name}: ticket #${ticket.id} has no "${action}" action in its workflow now; commenting only`,
      );
      await this.update(ticket, comment, { action: 'leave' }, options);
      return;
    }
    const inputs: Record<string, string> = {};
    for (const [input, value] of found[3] ?? []) inputs[input] = value;
    await this.update(ticket, comment, { action, ...inputs }, options);
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

/** Trac's fault for an update based on an outdated `_ts`: refused before anything was written. */
function midAirCollision(error: unknown): boolean {
  return error instanceof LogticketsError && error.faultCode === 1 && /modified|updated since/i.test(error.message);
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

function signal(options: Signal): { signal?: AbortSignal } {
  return options?.signal === undefined ? {} : { signal: options.signal };
}
