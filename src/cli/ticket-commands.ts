/**
 * The CLI commands that read and change tickets in a store: list, show,
 * occurrences, delete, stats (state changes: state-commands.ts). Each takes the opened backend and
 * its parsed flags and returns the text to print.
 */

import {
  isTicketStore,
  type StoredOccurrence,
  type Ticket,
  type TicketBackend,
  type TicketFilter,
} from '../backends/contract.js';
import { isReleaseText, MAX_RELEASE_LENGTH } from '../backends/release-text.js';
import { settable, TICKET_STATES, type TicketState } from '../backends/ticket-state.js';
import { ticketLinks, type LinkedTracker, type TicketLink } from '../backends/tracker/ticket-links.js';
import { Level, levelName, parseLevel } from '../logging/level.js';
import { cliTime, plural } from './format.js';
import { renderTable } from './table.js';
import { UsageError } from './usage-error.js';

export type Flags = Readonly<Record<string, string | boolean | undefined>>;

/** A ticket as the CLI prints it in JSON: the level by name, and its tracker links when known. */
export function ticketJson(ticket: Ticket, links?: readonly TicketLink[]): Record<string, unknown> {
  return {
    id: ticket.id,
    hash: ticket.hash,
    level: levelName(ticket.level),
    levelNumber: ticket.level,
    channel: ticket.channel,
    location: ticket.location,
    function: ticket.function,
    title: ticket.title,
    occurrenceCount: ticket.occurrenceCount,
    firstSeen: ticket.firstSeen,
    lastSeen: ticket.lastSeen,
    state: ticket.state,
    solved: ticket.solved,
    solvedAt: ticket.solvedAt,
    solvedInRelease: ticket.solvedInRelease,
    muted: ticket.muted,
    mutedAt: ticket.mutedAt,
    stateChangedAt: ticket.stateChangedAt,
    regressionCount: ticket.regressionCount,
    lastRegressionAt: ticket.lastRegressionAt,
    firstRelease: ticket.firstRelease,
    lastRelease: ticket.lastRelease,
    environments: ticket.environments,
    appId: ticket.appId,
    ...(links === undefined
      ? {}
      : { links: links.map((l) => ({ tracker: l.tracker, externalId: l.externalId, url: l.url, state: l.state })) }),
  };
}

/** The ticket's links to the configured trackers, from the store (none without trackers or links). */
function linksOf(backend: TicketBackend, trackers: readonly LinkedTracker[], ticket: Ticket): Promise<TicketLink[]> {
  if (!isTicketStore(backend)) return Promise.resolve([]);
  return ticketLinks(backend, trackers, ticket);
}

export async function list(
  backend: TicketBackend,
  flags: Flags,
  trackers: readonly LinkedTracker[] = [],
): Promise<string> {
  const filter: { -readonly [K in keyof TicketFilter]: TicketFilter[K] } = {};
  const states = (['open', 'solved', 'muted'] as const).filter((f) => flags[f] === true);
  if (typeof flags.state === 'string') states.push(stateFlag(flags.state) as never);
  if (states.length > 1)
    throw new UsageError(`--open, --solved, --muted and --state exclude each other (${states.length} given)`);
  const state = states[0] as TicketState | undefined;
  // --open means not solved (regressed included) and not muted; muted tickets show only when asked for.
  if (state === 'open') Object.assign(filter, { state: ['open', 'regressed'] });
  else if (state !== undefined) filter.state = state;
  else filter.muted = false;
  if (typeof flags.level === 'string') filter.level = levelFlag('--level', flags.level);
  if (typeof flags['min-level'] === 'string') filter.minLevel = levelFlag('--min-level', flags['min-level']);
  if (typeof flags.app === 'string') filter.appId = flags.app;
  if (typeof flags.channel === 'string') filter.channel = flags.channel;
  if (flags.release !== undefined) filter.release = releaseFlag('--release', flags.release);
  if (flags.environment !== undefined) filter.environment = releaseFlag('--environment', flags.environment);
  const tickets = await backend.getTickets({
    filter,
    orderBy: (typeof flags.order === 'string' ? flags.order : '-lastSeen') as never,
    limit: intFlag('--limit', flags.limit, 50),
    offset: intFlag('--offset', flags.offset, 0),
  });
  const links = await Promise.all(tickets.map((t) => linksOf(backend, trackers, t)));
  if (flags.json === true)
    return JSON.stringify(
      tickets.map((t, i) => ticketJson(t, links[i])),
      null,
      2,
    );
  if (tickets.length === 0) {
    // Say so when the only matches are muted (left out unless asked for).
    const muted = filter.muted === false ? await backend.countTickets({ ...filter, muted: true }) : 0;
    return muted === 0 ? 'No tickets.' : `No tickets (${plural(muted, 'muted ticket')} left out: --muted lists them).`;
  }
  const rows = tickets.map((t, i) => ({ ...t, links: links[i]! }));
  return renderTable(rows, [
    { header: 'ID', value: (t) => t.id, align: 'right' },
    { header: 'LEVEL', value: (t) => levelName(t.level) },
    { header: 'COUNT', value: (t) => t.occurrenceCount, align: 'right' },
    { header: 'STATE', value: (t) => t.state },
    ...(trackers.length === 0 && links.every((l) => l.length === 0)
      ? []
      : [{ header: 'TRACKER', value: (t: (typeof rows)[number]) => trackerColumn(t, t.links) }]),
    // The latest release each ticket was seen in, when any was.
    ...(tickets.every((t) => t.lastRelease === null)
      ? []
      : [{ header: 'RELEASE', value: (t: (typeof rows)[number]) => t.lastRelease ?? '-', max: 20 }]),
    { header: 'LAST SEEN', value: (t) => cliTime(t.lastSeen) },
    { header: 'CHANNEL', value: (t) => t.channel, max: 24 },
    // Cut from the left: the file name and line number stay.
    { header: 'LOCATION', value: (t) => t.location, max: 36, cut: 'start' },
    { header: 'TITLE', value: (t) => t.title, max: 60 },
  ]);
}

const TIME_FIELDS = new Set(['firstSeen', 'lastSeen', 'solvedAt', 'mutedAt', 'stateChangedAt', 'lastRegressionAt']);

export async function show(
  backend: TicketBackend,
  id: number,
  flags: Flags,
  trackers: readonly LinkedTracker[] = [],
): Promise<string> {
  const ticket = await backend.getTicket(id);
  if (ticket === null) throw new UsageError(`no ticket with id ${id}`);
  const links = await linksOf(backend, trackers, ticket);
  if (flags.json === true) return JSON.stringify(ticketJson(ticket, links), null, 2);
  const rows: Array<[string, string]> = Object.entries(ticketJson(ticket)).map(([k, v]) => [
    k,
    v === null || (Array.isArray(v) && v.length === 0)
      ? '-'
      : Array.isArray(v)
        ? v.join(', ')
        : TIME_FIELDS.has(k) && typeof v === 'string'
          ? cliTime(v)
          : String(v),
  ]);
  for (const link of links) {
    const agree =
      link.state === null || link.state === settable(ticket.state)
        ? ''
        : ` (sync pending: ${settable(ticket.state)} here)`;
    const where = link.url ?? `${link.tracker} #${link.externalId} (not in this config)`;
    rows.push(['link', `${link.label}: ${where} ${link.state ?? 'state unknown'}${agree}`]);
  }
  return renderTable(rows, [
    { header: 'FIELD', value: (r) => r[0] },
    { header: 'VALUE', value: (r) => r[1], max: 100 },
  ]);
}

export async function occurrences(backend: TicketBackend, id: number, flags: Flags): Promise<string> {
  const rows = await backend.getOccurrences(id, {
    orderBy: flags.oldest === true ? 'time' : '-time',
    limit: intFlag('--limit', flags.limit, 20),
    offset: intFlag('--offset', flags.offset, 0),
  });
  if (flags.json === true) return JSON.stringify(rows, null, 2);
  if (rows.length === 0) return 'No occurrences.';
  const field = (o: StoredOccurrence, key: string): string => {
    const data = o.data as Record<string, unknown> | null;
    const value = data !== null && typeof data === 'object' ? data[key] : undefined;
    return value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  };
  // Release and environment columns only when some occurrence on the page has one.
  const releases = rows.some((o) => o.release !== null);
  const environments = rows.some((o) => o.environment !== null);
  return renderTable(rows, [
    { header: 'ID', value: (o) => o.id, align: 'right' },
    { header: 'TIME', value: (o) => cliTime(o.time) },
    ...(releases ? [{ header: 'RELEASE', value: (o: StoredOccurrence) => o.release ?? '-', max: 20 }] : []),
    ...(environments ? [{ header: 'ENV', value: (o: StoredOccurrence) => o.environment ?? '-', max: 16 }] : []),
    { header: 'HOST', value: (o) => hostOf(o), max: 20 },
    { header: 'MESSAGE', value: (o) => field(o, 'message'), max: 80 },
  ]);
}

function hostOf(o: StoredOccurrence): string {
  const data = o.data as { process?: { hostname?: unknown; pid?: unknown } } | null;
  const p = data?.process;
  return p && typeof p === 'object' ? `${String(p.hostname ?? '')}:${String(p.pid ?? '')}` : '';
}

export async function remove(backend: TicketBackend, id: number): Promise<string> {
  await backend.deleteTicket(id);
  return `Ticket ${id} deleted with its occurrences.`;
}

export async function stats(backend: TicketBackend, flags: Flags): Promise<string> {
  const [total, open, regressed, solved, muted] = await Promise.all([
    backend.countTickets(),
    backend.countTickets({ state: ['open', 'regressed'] }),
    backend.countTickets({ state: 'regressed' }),
    backend.countTickets({ state: 'solved' }),
    backend.countTickets({ state: 'muted' }),
  ]);
  const levels = await Promise.all(
    Object.values(Level).map(async (level) => [levelName(level), await backend.countTickets({ level })] as const),
  );
  const busiest = await backend.getTickets({ orderBy: '-occurrenceCount', limit: 1 });
  const outbox = isTicketStore(backend) ? await backend.countOutbox() : null;
  const result = {
    store: backend.name,
    tickets: total,
    open,
    regressed,
    solved,
    muted,
    byLevel: Object.fromEntries(levels.filter(([, n]) => n > 0)),
    busiest: busiest[0] === undefined ? null : { id: busiest[0].id, occurrenceCount: busiest[0].occurrenceCount },
    outboxWaiting: outbox,
  };
  if (flags.json === true) return JSON.stringify(result, null, 2);
  const lines = [
    `store        ${result.store}`,
    `tickets      ${total} (${open} open of which ${regressed} regressed, ${solved} solved, ${muted} muted)`,
    `by level     ${
      levels
        .filter(([, n]) => n > 0)
        .map(([name, n]) => `${name} ${n}`)
        .join(', ') || '-'
    }`,
    `busiest      ${result.busiest === null ? '-' : `#${result.busiest.id} with ${plural(result.busiest.occurrenceCount, 'occurrence')}`}`,
  ];
  if (outbox !== null) lines.push(`outbox       ${plural(outbox, 'delivery')} waiting`);
  return lines.join('\n');
}

/**
 * Each linked tracker's state in short (`trac #12 solved`), marked with `*` where
 * it differs from the store's while a sync is pending; `-` without links.
 */
function trackerColumn(ticket: Ticket, links: readonly TicketLink[]): string {
  if (links.length === 0) return '-';
  return links
    .map(
      (l) =>
        `${l.label} #${l.externalId} ${l.state ?? '?'}${l.state !== null && l.state !== settable(ticket.state) ? '*' : ''}`,
    )
    .join(', ');
}

function stateFlag(value: string): TicketState {
  if (!(TICKET_STATES as readonly string[]).includes(value))
    throw new UsageError(`--state: unknown state ${JSON.stringify(value)} (use ${TICKET_STATES.join(', ')})`);
  return value as TicketState;
}

/** A release or environment named by a flag: one line of 1 to 200 characters. */
export function releaseFlag(flag: string, value: string | boolean): string {
  if (!isReleaseText(value))
    throw new UsageError(
      `${flag} must be one line of 1 to ${MAX_RELEASE_LENGTH} characters, got ${JSON.stringify(value)}`,
    );
  return value;
}

function levelFlag(flag: string, value: string): number {
  const level = parseLevel(value);
  if (level === undefined) {
    throw new UsageError(`${flag}: unknown level ${JSON.stringify(value)} (use ${Object.keys(Level).join(', ')})`);
  }
  return level;
}

export function intFlag(flag: string, value: string | boolean | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) {
    throw new UsageError(`${flag} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}
