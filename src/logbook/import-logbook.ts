/**
 * Importing a Logbook ticketing store into a logtickets store, through the
 * store contract only (recordBatch, getTickets, getOccurrences, solveTicket).
 *
 * Running it again changes nothing: each imported occurrence carries its
 * Logbook id and stored time (logbook-record.ts), and those a ticket already
 * has are skipped, so a second run, or one after an interrupted run, imports
 * only what is new in the Logbook store.
 *
 * - Counts: a ticket's occurrences are counted as they are imported. When
 *   Logbook counted more than it kept (rows deleted by hand), the difference
 *   is added once, by the write that creates the ticket.
 * - Solved: Logbook's solved state is applied to a ticket whose state was
 *   never changed here and that has no occurrence later than Logbook's last,
 *   as solved at that last occurrence; so an occurrence after it reopens it
 *   as Logbook would have, and a later run does not solve it again.
 * - Imported occurrences reopen a solved ticket with no grace window: they
 *   are history, none is "in flight".
 *
 * A ticket or an occurrence that cannot be read is reported (`onProblem`)
 * and left out; the rest is imported. A store that fails ends the import:
 * what was written stays, and the next run goes on from there.
 */

import type { OccurrenceInput, TicketBackend } from '../backends/contract.js';
import { Redactor, type RedactionOptions } from '../ticketing/redaction.js';
import { importedKey, importKey, occurrenceInput, readTicket, type LogbookTicket } from './logbook-record.js';
import type { LogbookSource } from './logbook-tables.js';

export interface ImportOptions {
  /** Occurrences per write (default 500). */
  readonly batchSize?: number;
  /** Secrets replaced before anything is stored (default: the built-in patterns, as for logging). */
  readonly redaction?: RedactionOptions;
  /** Ticket titles are cut to this many characters (default 200). */
  readonly titleLength?: number;
  /** Occurrences gone through (imported, present already or left out) of all. */
  readonly onProgress?: (done: number, total: number) => void;
  /** A ticket or occurrence left out, and why: one line. */
  readonly onProblem?: (line: string) => void;
}

export interface ImportSummary {
  /** Tickets of the Logbook store. */
  readonly tickets: number;
  /** Occurrences imported by this run. */
  readonly imported: number;
  /** Occurrences the store had already. */
  readonly present: number;
  /** Tickets this run created. */
  readonly created: number;
  /** Tickets this run marked solved. */
  readonly solved: number;
  /** Tickets and occurrences left out (each reported through onProblem). */
  readonly skippedTickets: number;
  readonly skippedOccurrences: number;
}

type Counts = { -readonly [K in keyof ImportSummary]: ImportSummary[K] };

export async function importLogbook(
  source: LogbookSource,
  store: TicketBackend,
  options: ImportOptions = {},
): Promise<ImportSummary> {
  const batchSize = options.batchSize ?? 500;
  const settings = {
    redactor: new Redactor(options.redaction),
    titleLength: options.titleLength ?? 200,
    source: source.name,
  };
  const counts: Counts = {
    tickets: 0,
    imported: 0,
    present: 0,
    created: 0,
    solved: 0,
    skippedTickets: 0,
    skippedOccurrences: 0,
  };
  const total = await source.countOccurrences();
  let done = 0;
  const advance = (n: number) => {
    done += n;
    options.onProgress?.(done, total);
  };
  const problem = (line: string) => options.onProblem?.(line);
  options.onProgress?.(0, total);
  for (let after = 0; ;) {
    const rows = await source.tickets(after, 100);
    if (rows.length === 0) break;
    for (const row of rows) {
      after = row.ticketId;
      counts.tickets += 1;
      const ticket = readTicket(row);
      if (typeof ticket === 'string' || ticket.rows === 0) {
        counts.skippedTickets += 1;
        problem(
          `Logbook ticket ${row.ticketId} left out: ${typeof ticket === 'string' ? ticket : 'it has no occurrences'}`,
        );
        advance(Number(row.rows) || 0);
        continue;
      }
      await importTicket(ticket);
    }
  }
  return counts;

  async function importTicket(ticket: LogbookTicket): Promise<void> {
    const [existing] = await store.getTickets({ filter: { appId: ticket.appId, hash: ticket.hash }, limit: 1 });
    const present = existing === undefined ? new Set<string>() : await importedKeys(store, existing.id);
    let ticketId = existing?.id;
    // What Logbook counted beyond the rows it kept, added once: by the write that creates the ticket.
    let surplus = existing === undefined ? Math.max(0, ticket.occurrenceCount - ticket.rows) : 0;
    for (let after = 0; ;) {
      const page = await source.occurrences(ticket.ticketId, after, batchSize);
      if (page.length === 0) break;
      const batch: OccurrenceInput[] = [];
      for (const row of page) {
        after = row.occurrenceId;
        if (present.has(importKey(row.occurrenceId, row.time))) {
          counts.present += 1;
          continue;
        }
        const input = occurrenceInput(ticket, row, settings);
        if (typeof input === 'string') {
          counts.skippedOccurrences += 1;
          problem(`Logbook ticket ${ticket.ticketId}: ${input}; left out`);
          continue;
        }
        batch.push(input);
      }
      if (batch.length > 0) {
        if (surplus > 0) batch[0] = { ...batch[0]!, count: 1 + surplus };
        const [outcome] = await store.recordBatch(batch, { regressionGraceMs: 0 });
        surplus = 0;
        ticketId = outcome!.ticketId;
        if (outcome!.created) counts.created += 1;
        counts.imported += batch.length;
      }
      advance(page.length);
    }
    if (ticket.solved && ticketId !== undefined && (await solveAsLogbook(ticketId, ticket))) counts.solved += 1;
  }

  async function solveAsLogbook(id: number, ticket: LogbookTicket): Promise<boolean> {
    const ours = await store.getTicket(id);
    if (ours === null || ours.solved || ours.muted || ours.stateChangedAt !== null) return false;
    if (ticket.lastSeen !== null && ours.lastSeen > ticket.lastSeen) return false;
    await store.solveTicket(id, { at: ours.lastSeen, release: null });
    return true;
  }
}

/** The import keys of a ticket's occurrences that came from a Logbook store. */
async function importedKeys(store: TicketBackend, ticketId: number): Promise<Set<string>> {
  const keys = new Set<string>();
  const limit = 500;
  for (let offset = 0; ; offset += limit) {
    const page = await store.getOccurrences(ticketId, { orderBy: 'time', limit, offset });
    for (const occurrence of page) {
      const key = importedKey(occurrence.data);
      if (key !== undefined) keys.add(key);
    }
    if (page.length < limit) return keys;
  }
}
