/**
 * What the import tests share: importing a Logbook store into a logtickets
 * store, a store's whole content for comparing before and after, and the
 * check that each imported ticket is the Logbook ticket it came from.
 */

import type { ExecutionContext } from 'ava';
import type { StoredOccurrence, Ticket, TicketBackend } from '../../src/backends/contract.js';
import { importLogbook, type ImportOptions, type ImportSummary } from '../../src/logbook/import-logbook.js';
import { openLogbookSource } from '../../src/logbook/logbook-source.js';
import { isoTime, type LogbookTicketView } from '../services/logbook/logbook-writer.js';

export async function importFrom(
  uri: string,
  store: TicketBackend,
  prefix = 'logbook_',
  options: ImportOptions = {},
): Promise<ImportSummary> {
  const source = await openLogbookSource(uri, prefix);
  try {
    return await importLogbook(source, store, options);
  } finally {
    await source.close();
  }
}

/** Every ticket and every occurrence of a store, in a fixed order. */
export async function contents(store: TicketBackend): Promise<{ ticket: Ticket; occurrences: StoredOccurrence[] }[]> {
  const tickets = await store.getTickets({ orderBy: 'id', limit: 1000 });
  return Promise.all(
    tickets.map(async (ticket) => ({
      ticket,
      occurrences: await store.getOccurrences(ticket.id, { orderBy: 'time', limit: 1000 }),
    })),
  );
}

type Data = { [key: string]: unknown };

/** The imported ticket of each Logbook ticket is that ticket: fields, counts, times, state, every occurrence. */
export async function assertImported(
  t: ExecutionContext,
  store: TicketBackend,
  logbook: readonly LogbookTicketView[],
): Promise<void> {
  t.is(await store.countTickets(), logbook.length);
  for (const expected of logbook) {
    const [ticket] = await store.getTickets({ filter: { appId: expected.app_id, hash: expected.record_hash } });
    if (ticket === undefined) return void t.fail(`no ticket for Logbook ticket ${expected.ticket_id}`);
    const what = `Logbook ticket ${expected.ticket_id} (${expected.channel})`;
    t.is(ticket.level, expected.level, what);
    t.is(ticket.channel, expected.channel, what);
    t.is(ticket.location, expected.location, what);
    t.is(ticket.occurrenceCount, expected.occurrence_count, what);
    t.is(ticket.lastSeen, isoTime(expected.last_occurrence_time), what);
    t.is(ticket.firstSeen, isoTime(expected.occurrences[0]!.time), what);
    t.is(ticket.solved, expected.solved, what);
    // Logbook opens a solved ticket again when it recurs: here that is a regression.
    t.is(ticket.state, expected.solved ? 'solved' : ticket.regressionCount > 0 ? 'regressed' : 'open', what);
    const first = expected.occurrences[0]!;
    t.is(ticket.function, first.func_name, what);
    const occurrences = await store.getOccurrences(ticket.id, { orderBy: 'time', limit: 1000 });
    t.deepEqual(
      occurrences.map((o) => {
        const data = o.data as Data;
        const location = data.location as Data;
        const error = data.error as Data | null;
        return {
          time: o.time,
          message: data.message,
          msg: data.msg,
          args: data.args,
          kwargs: data.kwargs,
          file: location.file,
          line: location.line,
          errorName: error?.name ?? null,
          errorMessage: error?.message ?? null,
          occurrenceId: (data.logbook as Data).occurrenceId,
        };
      }),
      expected.occurrences.map((o) => ({
        time: isoTime(o.time),
        message: o.message,
        msg: o.msg,
        args: o.args,
        kwargs: o.kwargs,
        file: o.filename,
        line: o.lineno,
        errorName: o.exception_name,
        errorMessage: o.exception_message,
        occurrenceId: o.occurrence_id,
      })),
      what,
    );
  }
}
