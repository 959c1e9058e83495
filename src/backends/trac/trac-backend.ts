/**
 * The Trac backend: one Trac ticket per problem, comments for later
 * occurrences, reopened on regression. The write path, the outbox and the
 * rules for finding a problem's ticket are the TrackerBackend's; this file
 * says how to do each step over Trac's XML-RPC API:
 * - the fingerprint lives in a custom field (or, without one, the keywords);
 * - a ticket closed as fixed is reopened through the workflow (the `reopen`
 *   action found with ticket.getActions, with a fresh `_ts`) with a
 *   regression comment; one closed with a muted resolution stays closed.
 */

import { LogticketsError } from '../../errors.js';
import { checkOptions } from '../../options.js';
import type {
  GetOccurrencesOptions,
  GetTicketsOptions,
  LinkKey,
  StoredOccurrence,
  Ticket,
  TicketFilter,
} from '../contract.js';
import { checkFilter, checkTicketId, occurrenceQuery, ticketNotFound, ticketQuery } from '../query-options.js';
import type { OccurrenceSummary } from '../tracker/occurrence-summary.js';
import { TrackerBackend, type AddResult, type TrackerOptions } from '../tracker/tracker-backend.js';
import type { SetupCheck } from '../tracker/setup-check.js';
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
export interface TracBackendOptions extends TrackerOptions, Omit<XmlRpcClientOptions, 'name'> {
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

export class TracBackend extends TrackerBackend {
  readonly name: string;
  private readonly rpc: XmlRpcClient;
  private readonly url: string;
  private readonly username: string | undefined;
  private readonly hashField: string;
  private readonly fields: TracTicketFields;
  private readonly muted: ReadonlySet<string>;
  private fieldMode: Promise<'custom' | 'keywords'> | undefined;

  constructor(options: TracBackendOptions) {
    checkOptions('TracBackend options', options, {
      url: 'string',
      username: 'string',
      password: 'string',
      timeoutMs: { integer: { min: 1 } },
      tls: 'object',
      proxy: 'any',
      fields: 'object',
      hashField: 'string',
      commentIntervalMs: { integer: { min: 0 } },
      mutedResolutions: 'array',
      store: 'any',
      onError: 'function',
      retry: 'object',
      pollIntervalMs: { integer: { min: 10 } },
    });
    if (options?.url === undefined)
      throw new LogticketsError('INVALID_ARGUMENT', 'TracBackend options.url is required');
    checkOptions('TracBackend options.fields', options.fields, {
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
        `TracBackend options.hashField must be a Trac field name, got ${JSON.stringify(hashField)}`,
      );
    }
    super('TracBackend', options);
    this.name = trackerName(options.url);
    // The client checks the URL (a clear INVALID_ARGUMENT naming `url`).
    this.rpc = new XmlRpcClient({ ...options, name: this.name });
    this.url = options.url;
    this.username = options.username;
    this.hashField = hashField;
    this.fields = options.fields ?? {};
    this.muted = new Set(options.mutedResolutions ?? ['wontfix', 'invalid', 'duplicate']);
  }

  // -- set-up checks ---------------------------------------------------------

  /** See trac-setup-check.ts: what is checked, how, and in which order. */
  checkSetup(): Promise<SetupCheck[]> {
    return checkTracSetup({ rpc: this.rpc, url: this.url, username: this.username, hashField: this.hashField });
  }

  /** `<Trac project root>/ticket/<id>`: the RPC URL without its `/login/rpc` (or `/rpc`, `/xmlrpc`, `/jsonrpc`). */
  ticketUrl(externalId: string): string {
    return tracTicketUrl(this.url, externalId);
  }

  // -- delivery steps ---------------------------------------------------------

  protected async findExisting(key: LinkKey): Promise<string | undefined> {
    const ids = await this.query(`${await this.fingerprintCondition(key.hash)}&max=0&order=id`);
    return ids[0] === undefined ? undefined : String(ids[0]);
  }

  protected async createTicket(key: LinkKey, summary: OccurrenceSummary): Promise<string> {
    const mode = await this.mode();
    const attributes: Record<string, string> = { type: 'defect', ...this.fields };
    if (mode === 'custom') attributes[this.hashField] = key.hash;
    else attributes.keywords = [this.fields.keywords, `logtickets:${key.hash}`].filter(Boolean).join(' ');
    const id = await this.rpc.call<number>('ticket.create', [
      ticketSummary(summary),
      ticketDescription(summary, key.appId, key.hash),
      attributes,
      false,
    ]);
    return String(id);
  }

  protected async addOccurrences(id: string, summary: OccurrenceSummary): Promise<AddResult> {
    let ticket: TracTicket;
    try {
      ticket = await this.getTracTicket(Number(id));
    } catch (error) {
      if (error instanceof LogticketsError && error.faultCode === 404) return 'gone';
      throw error;
    }
    const closed = ticket.attrs.status === 'closed';
    if (closed && this.muted.has(ticket.attrs.resolution ?? '')) return 'muted';
    if (closed) {
      await this.workflow(ticket, 'reopen', occurrenceComment(summary, true), {});
      return 'reopened';
    }
    await this.update(ticket, occurrenceComment(summary, false), { action: 'leave' });
    return 'commented';
  }

  /** Whether the fingerprint field exists (Trac ignores a condition on an undefined field and matches everything). */
  private mode(): Promise<'custom' | 'keywords'> {
    this.fieldMode ??= this.rpc
      .call<Array<{ name: string }>>('ticket.getTicketFields')
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

  private async fingerprintCondition(hash: string): Promise<string> {
    return (await this.mode()) === 'custom' ? `${this.hashField}=${hash}` : `keywords=~logtickets:${hash}`;
  }

  private async query(q: string): Promise<number[]> {
    return this.rpc.call<number[]>('ticket.query', [q]);
  }

  private async getTracTicket(id: number): Promise<TracTicket> {
    const [tid, created, changed, attrs] = await this.rpc.call<[number, Date, Date, Record<string, string>]>(
      'ticket.get',
      [id],
    );
    return { id: tid, created, changed, attrs };
  }

  /** Comment (and change attributes), retrying once on a mid-air collision with a fresh `_ts`. */
  private async update(ticket: TracTicket, comment: string, attributes: Record<string, string>): Promise<void> {
    try {
      await this.rpc.call('ticket.update', [ticket.id, comment, { ...attributes, _ts: ticket.attrs._ts ?? '' }, false]);
    } catch (error) {
      if (
        !(error instanceof LogticketsError) ||
        error.faultCode !== 1 ||
        !/modified|updated since/i.test(error.message)
      )
        throw error;
      const fresh = await this.getTracTicket(ticket.id);
      await this.rpc.call('ticket.update', [ticket.id, comment, { ...attributes, _ts: fresh.attrs._ts ?? '' }, false]);
    }
  }

  /** Run a workflow action (found with ticket.getActions, as workflows are configurable). */
  private async workflow(
    ticket: TracTicket,
    action: string,
    comment: string,
    extra: Record<string, string>,
  ): Promise<void> {
    const actions = await this.rpc.call<TracAction[]>('ticket.getActions', [ticket.id]);
    const found = actions.find(([name]) => name === action);
    if (found === undefined) {
      this.warn(
        `no-${action}`,
        `${this.name}: ticket #${ticket.id} has no "${action}" action in its workflow now; commenting only`,
      );
      await this.update(ticket, comment, { action: 'leave' });
      return;
    }
    const inputs: Record<string, string> = {};
    for (const [input, value] of found[3] ?? []) inputs[input] = value;
    await this.update(ticket, comment, { action, ...inputs, ...extra });
  }

  // -- the read side, where Trac can answer -----------------------------------

  async countTickets(filter: TicketFilter = {}): Promise<number> {
    return (await this.query(`${await this.conditions(checkFilter(filter))}&max=0`)).length;
  }

  async getTickets(options: GetTicketsOptions = {}): Promise<Ticket[]> {
    const q = ticketQuery(options);
    const order = { id: 'id', firstSeen: 'time', lastSeen: 'changetime' }[q.field as 'id' | 'firstSeen' | 'lastSeen'];
    if (order === undefined) {
      throw new LogticketsError(
        'NOT_SUPPORTED',
        `orderBy ${q.field}: the Trac backend orders by id, firstSeen or lastSeen (use its store for more)`,
        {
          backend: this.name,
        },
      );
    }
    const ids = await this.query(
      `${await this.conditions(q.filter)}&max=0&order=${order}${q.descending ? '&desc=1' : ''}`,
    );
    const page = ids.slice(q.offset, q.offset + q.limit);
    return Promise.all(page.map(async (id) => this.toTicket(await this.getTracTicket(id))));
  }

  async getTicket(id: number): Promise<Ticket | null> {
    checkTicketId(id);
    try {
      return await this.toTicket(await this.getTracTicket(id));
    } catch (error) {
      if (error instanceof LogticketsError && error.faultCode === 404) return null;
      throw error;
    }
  }

  /** Occurrences as Trac shows them: the ticket's creation, then its comments. */
  async getOccurrences(ticketId: number, options: GetOccurrencesOptions = {}): Promise<StoredOccurrence[]> {
    occurrenceQuery(options); // bad options fail before the tracker is asked
    const ticket = await this.getTicket(ticketId);
    if (ticket === null) throw ticketNotFound(ticketId, this.name);
    const log = await this.rpc.call<Array<[Date, string, string, string, string, number]>>('ticket.changeLog', [
      ticketId,
    ]);
    const comments = log
      .filter(([, , fieldName, , text]) => fieldName === 'comment' && text !== '')
      .map(([time, author, , number, text], k) => ({
        id: Number(number) || k + 1,
        time: time.toISOString(),
        author,
        text,
      }));
    return this.pageOccurrences(ticket, comments, options);
  }

  async solveTicket(id: number): Promise<Ticket> {
    const ticket = await this.mustGet(id);
    if (ticket.attrs.status !== 'closed') {
      await this.workflow(ticket, 'resolve', 'Marked solved through logtickets.', {
        action_resolve_resolve_resolution: 'fixed',
      });
    }
    return this.toTicket(await this.getTracTicket(id));
  }

  async reopenTicket(id: number): Promise<Ticket> {
    const ticket = await this.mustGet(id);
    if (ticket.attrs.status === 'closed') await this.workflow(ticket, 'reopen', 'Reopened through logtickets.', {});
    return this.toTicket(await this.getTracTicket(id));
  }

  async deleteTicket(id: number): Promise<void> {
    await this.mustGet(id);
    try {
      await this.rpc.call('ticket.delete', [id]);
    } catch (error) {
      if (error instanceof LogticketsError && error.code === 'PERMISSION_DENIED') {
        throw new LogticketsError(
          'PERMISSION_DENIED',
          `deleting Trac ticket #${id} needs the TICKET_ADMIN permission, which this user lacks`,
          {
            backend: this.name,
            cause: error,
            faultCode: error.faultCode,
          },
        );
      }
      throw error;
    }
  }

  private async mustGet(id: number): Promise<TracTicket> {
    checkTicketId(id);
    try {
      return await this.getTracTicket(id);
    } catch (error) {
      if (error instanceof LogticketsError && error.faultCode === 404) throw ticketNotFound(id, this.name);
      throw error;
    }
  }

  private async conditions(filter: TicketFilter): Promise<string> {
    for (const key of ['level', 'minLevel', 'appId', 'channel'] as const) {
      if (filter[key] !== undefined) {
        throw new LogticketsError(
          'NOT_SUPPORTED',
          `filter.${key}: the Trac backend cannot filter on it (use its store)`,
          { backend: this.name },
        );
      }
    }
    const parts = [
      filter.hash === undefined
        ? (await this.mode()) === 'custom'
          ? `${this.hashField}!=`
          : 'keywords=~logtickets:'
        : await this.fingerprintCondition(filter.hash),
    ];
    if (filter.solved === true) parts.push('status=closed');
    if (filter.solved === false) parts.push('status!=closed');
    return parts.join('&');
  }

  private toTicket(t: TracTicket): Promise<Ticket> {
    const closed = t.attrs.status === 'closed';
    return this.asTicket({
      id: t.id,
      hash: t.attrs[this.hashField] || /logtickets:([0-9a-f]{40})/.exec(t.attrs.keywords ?? '')?.[1] || '',
      title: t.attrs.summary ?? '',
      created: t.created.toISOString(),
      changed: t.changed.toISOString(),
      closed,
      closedAt: closed ? t.changed.toISOString() : null,
    });
  }
}

/** `trac:<endpoint>`, credential-free: the backend's name in stats, errors, links and the outbox. */
function trackerName(url: string): string {
  try {
    const parsed = new URL(url);
    return `trac:${parsed.origin}${parsed.pathname}`;
  } catch {
    return 'trac';
  }
}
