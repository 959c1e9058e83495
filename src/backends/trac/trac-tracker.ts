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
 *   ticket.get for each one of logtickets.
 */

import { LogticketsError } from '../../errors.js';
import { rateLimitedStderr } from '../../logging/internal-error.js';
import { checkOptions } from '../../options.js';
import type { OccurrenceSummary } from '../tracker/occurrence-summary.js';
import type { SetupCheck } from '../tracker/setup-check.js';
import type { AddResult, Tracker, TrackerCallOptions, TrackerChange, TrackerProblem } from '../tracker/tracker.js';
import { checkTracSetup, tracTicketUrl } from './trac-setup-check.js';
import { occurrenceComment, ticketDescription, ticketSummary } from './trac-wiki.js';
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
}

interface TracTicket {
  readonly id: number;
  readonly created: Date;
  readonly changed: Date;
  readonly attrs: Record<string, string>;
}

type TracAction = [string, string, string, Array<[string, string, string[]]>];
type Signal = TrackerCallOptions | undefined;

export class TracTracker implements Tracker {
  readonly name: string;
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

  async create(problem: TrackerProblem, summary: OccurrenceSummary, options?: TrackerCallOptions): Promise<string> {
    const mode = await this.mode(options);
    const attributes: Record<string, string> = { type: 'defect', ...this.fields };
    if (mode === 'custom') attributes[this.hashField] = problem.hash;
    else attributes.keywords = [this.fields.keywords, `logtickets:${problem.hash}`].filter(Boolean).join(' ');
    const id = await this.rpc.call<number>(
      'ticket.create',
      [ticketSummary(summary), ticketDescription(summary, problem.appId, problem.hash), attributes, false],
      signal(options),
    );
    return String(id);
  }

  async addOccurrences(id: string, summary: OccurrenceSummary, options?: TrackerCallOptions): Promise<AddResult> {
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
      await this.workflow(ticket, 'reopen', occurrenceComment(summary, true), options);
      return 'reopened';
    }
    await this.update(ticket, occurrenceComment(summary, false), { action: 'leave' }, options);
    return 'commented';
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

  /** Comment (and change attributes), retrying once on a mid-air collision with a fresh `_ts`. */
  private async update(
    ticket: TracTicket,
    comment: string,
    attributes: Record<string, string>,
    options: Signal,
  ): Promise<void> {
    const send = (ts: string) =>
      this.rpc.call('ticket.update', [ticket.id, comment, { ...attributes, _ts: ts }, false], signal(options));
    try {
      await send(ticket.attrs._ts ?? '');
    } catch (error) {
      if (
        !(error instanceof LogticketsError) ||
        error.faultCode !== 1 ||
        !/modified|updated since/i.test(error.message)
      )
        throw error;
      const fresh = await this.getTracTicket(ticket.id, options);
      await send(fresh.attrs._ts ?? '');
    }
  }

  /** Run a workflow action (found with ticket.getActions, as workflows are configurable). */
  private async workflow(ticket: TracTicket, action: string, comment: string, options: Signal): Promise<void> {
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

function signal(options: Signal): { signal?: AbortSignal } {
  return options?.signal === undefined ? {} : { signal: options.signal };
}
