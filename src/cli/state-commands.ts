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
import { LogticketsError } from '../errors.js';
import { whyWaiting } from './config-commands.js';
import { cliTime } from './format.js';
import { intFlag, releaseFlag, type Flags } from './ticket-commands.js';
import { UsageError } from './usage-error.js';
import type { CliSetup } from './store-access.js';

export const STATE_COMMANDS: Readonly<Record<string, { state: SettableState; verb: string; note?: string }>> = {
  solve: { state: 'solved', verb: 'solved' },
  reopen: { state: 'open', verb: 'reopened' },
  mute: { state: 'muted', verb: 'muted', note: 'it is counted, but never reopened or commented again' },
  unmute: { state: 'open', verb: 'unmuted', note: 'it is open again' },
};

export async function changeTicketState(
  command: string,
  backend: TicketBackend,
  id: number,
  flags: Flags,
  trackers: readonly LinkedTracker[],
  setup: CliSetup,
): Promise<string> {
  const asked = STATE_COMMANDS[command]!;
  const timeoutMs = intFlag('--timeout', flags.timeout, 20) * 1000;
  const inRelease = flags['in-release'];
  if (inRelease !== undefined && command !== 'solve')
    throw new UsageError(`--in-release goes with solve only (it names the release a problem is solved in)`);
  // Without --in-release the store picks the newest release it has seen for the ticket's app.
  const options = inRelease === undefined ? undefined : { release: releaseFlag('--in-release', inRelease) };
  if (command === 'unmute') {
    const before = await backend.getTicket(id);
    if (before !== null && before.state !== 'muted')
      throw new UsageError(`ticket ${id} is not muted (it is ${before.state}): reopen opens a solved ticket`);
  }
  if (!isTicketStore(backend)) return changed(await backend.setTicketState(id, asked.state, options), asked);
  const names = trackers.map((t) => t.name);
  const ticket = await changeState(backend, names, id, asked.state, options, true);
  const lines = [changed(ticket, asked)];
  const before = await ticketLinks(backend, trackers, ticket);
  if (before.length === 0) {
    if (trackers.length > 0) lines.push('  (no tracker ticket is linked to it yet)');
    return lines.join('\n');
  }
  const waits = await deliverNow(setup, timeoutMs);
  for (const link of await ticketLinks(backend, trackers, ticket))
    lines.push(`  ${linkLine(link, asked.state, waits)}`);
  return lines.join('\n');
}

function changed(ticket: Ticket, asked: { state: SettableState; verb: string; note?: string }): string {
  const title = ticket.title.length > 60 ? `${ticket.title.slice(0, 59)}…` : ticket.title;
  // A later change (made in a tracker, or by another person) wins over this one.
  if (ticket.state !== asked.state && !(asked.state === 'open' && ticket.state === 'regressed'))
    return `Ticket ${ticket.id} stays ${ticket.state}: a later change of its state was made (${ticket.stateChangedAt === null ? '?' : cliTime(ticket.stateChangedAt)}).`;
  const release = ticket.solvedInRelease === null ? '' : ` in release ${ticket.solvedInRelease}`;
  return `Ticket ${ticket.id} ${asked.verb}${release} (${title})${asked.note === undefined ? '' : `: ${asked.note}`}.`;
}

function linkLine(link: TicketLink, state: SettableState, waits: ReadonlyMap<string, string> | string): string {
  const where = `${link.label} #${link.externalId} ${link.url ?? `(${link.tracker}, not in this config)`}`;
  if (link.state === state) return `${where}: ${state}`;
  const why =
    (typeof waits === 'string' ? waits : waits.get(link.tracker)) ??
    'the process delivering to it carries it out (`logtickets sync` does it now)';
  return `${where}: ${link.state ?? 'state unknown'} → ${state} queued: ${why}`;
}

/**
 * Deliver what waits now, when the config's trackers can be opened here.
 * Per tracker still waiting, why (its pause, another process delivering);
 * a text for all when none could be opened here.
 */
async function deliverNow(setup: CliSetup, timeoutMs: number): Promise<ReadonlyMap<string, string> | string> {
  if (setup.configPath === undefined) return 'no config was given to reach the trackers from here';
  let configured;
  try {
    configured = openConfigured(loadConfig(setup.configPath).config, {
      ...(setup.storeUri === undefined ? {} : { storeUri: setup.storeUri }),
      ...(setup.prefix === undefined ? {} : { prefix: setup.prefix }),
    });
  } catch {
    // No credentials here (they live with the services): the fleet's deliverer carries the change out.
    return 'the process delivering to it carries it out (the trackers cannot be reached from this shell)';
  }
  const { tracked, target } = configured;
  const waits = new Map<string, string>();
  try {
    if (tracked === undefined) return waits;
    await tracked.store.open();
    if (await tracked.deliverPending({ timeoutMs })) return waits;
    for (const tracker of tracked.trackers) {
      if ((await tracked.store.countOutbox(tracker.name)) === 0) continue;
      waits.set(
        tracker.name,
        `not delivered within ${timeoutMs / 1000} s: ${await whyWaiting(tracked.store, tracker.name)}`,
      );
    }
    return waits;
  } catch (error) {
    return `the trackers could not be reached: ${error instanceof LogticketsError ? error.code : 'error'}; \`logtickets sync\` says why`;
  } finally {
    await target.close({ timeoutMs: 0 }).catch(() => undefined);
  }
}
