/**
 * The CLI commands that change a ticket's state: solve, reopen, mute, unmute.
 * The change is made in the store and queued for every tracker the config
 * names (only their names are needed: a running fleet carries it out). When
 * the config's trackers can be reached from here (their credentials are set),
 * the command also delivers it at once, within `--timeout` (default 20 s);
 * then it prints each linked tracker ticket and whether it follows yet.
 */

import { isTicketStore, type SettableState, type Ticket, type TicketBackend } from '../backends/contract.js';
import { changeState } from '../backends/tracker/state-change.js';
import { ticketLinks, type LinkedTracker, type TicketLink } from '../backends/tracker/ticket-links.js';
import { openConfigured } from '../config/create-handler.js';
import { loadConfig } from '../config/load-config.js';
import { intFlag, type Flags } from './ticket-commands.js';
import type { CliSetup } from './store-access.js';

export const STATE_COMMANDS: Readonly<Record<string, { state: SettableState; done: string }>> = {
  solve: { state: 'solved', done: 'solved' },
  reopen: { state: 'open', done: 'reopened' },
  mute: { state: 'muted', done: 'muted (counted, never reopened, never commented again)' },
  unmute: { state: 'open', done: 'unmuted (open again)' },
};

export async function changeTicketState(
  command: string,
  backend: TicketBackend,
  id: number,
  flags: Flags,
  trackers: readonly LinkedTracker[],
  setup: CliSetup,
): Promise<string> {
  const { state, done } = STATE_COMMANDS[command]!;
  const timeoutMs = intFlag('--timeout', flags.timeout, 20) * 1000;
  if (trackers.length === 0 || !isTicketStore(backend)) {
    const ticket = await backend.setTicketState(id, state);
    return changed(ticket, state, done);
  }
  const names = trackers.map((t) => t.name);
  const ticket = await changeState(backend, names, id, state);
  const lines = [changed(ticket, state, done)];
  const delivered = await deliverNow(setup, timeoutMs);
  const links = await ticketLinks(backend, trackers, ticket);
  for (const link of links) lines.push(`  ${linkLine(link, state, delivered)}`);
  if (links.length === 0) lines.push('  (no tracker ticket is linked to it yet)');
  return lines.join('\n');
}

function changed(ticket: Ticket, asked: SettableState, done: string): string {
  const title = ticket.title.length > 60 ? `${ticket.title.slice(0, 59)}…` : ticket.title;
  // A later change (made in a tracker, or by another person) wins over this one.
  if (ticket.state !== asked && !(asked === 'open' && ticket.state === 'regressed'))
    return `Ticket ${ticket.id} stays ${ticket.state}: a later change of its state was made (${ticket.stateChangedAt ?? '?'}).`;
  return `Ticket ${ticket.id} ${done} (${title}).`;
}

function linkLine(link: TicketLink, state: SettableState, delivered: string | undefined): string {
  const where = `${link.tracker} #${link.externalId} ${link.url}`;
  if (link.state === state) return `${where}: ${state}`;
  const why = delivered ?? 'queued: the process delivering to it carries it out (`logtickets sync` does it now)';
  return `${where}: ${link.state ?? 'state unknown'} → ${state} ${why.startsWith('queued') ? why : `(${why})`}`;
}

/** Deliver what waits now, when the config's trackers can be opened here; undefined when done, else why not. */
async function deliverNow(setup: CliSetup, timeoutMs: number): Promise<string | undefined> {
  if (setup.configPath === undefined) return 'queued';
  let configured;
  try {
    configured = openConfigured(loadConfig(setup.configPath).config, {
      ...(setup.storeUri === undefined ? {} : { storeUri: setup.storeUri }),
      ...(setup.prefix === undefined ? {} : { prefix: setup.prefix }),
    });
  } catch {
    // No credentials here (they live with the services): the fleet's deliverer carries the change out.
    return undefined;
  }
  const { tracked, target } = configured;
  try {
    if (tracked === undefined) return undefined;
    await tracked.store.open();
    const done = await tracked.deliverPending({ timeoutMs });
    return done ? undefined : `queued: not delivered within ${timeoutMs / 1000} s; \`logtickets sync\` says why`;
  } catch {
    return 'queued: the tracker could not be reached; `logtickets sync` says why';
  } finally {
    await target.close({ timeoutMs: 0 }).catch(() => undefined);
  }
}
