/**
 * `logtickets import-logbook --from URI [--prefix PREFIX]`: a Logbook
 * ticketing store's tickets and occurrences into the store of --db or
 * --config (created when it is not there yet: importing into a new store is
 * how a migration starts). Progress is a bar on a terminal (problems are
 * printed above it), a line every few seconds otherwise; the last line says
 * what was done. Imported tickets are not sent to the config's trackers.
 */

import type { TicketBackend } from '../backends/contract.js';
import { openBackend } from '../backends/open-backend.js';
import type { LogticketsConfig } from '../config/config-schema.js';
import { importLogbook, type ImportSummary } from '../logbook/import-logbook.js';
import { openLogbookSource, type LogbookSource } from '../logbook/logbook-source.js';
import { plural } from './format.js';
import { progress } from './progress.js';
import type { StoreChoice } from './store-access.js';
import type { Flags } from './ticket-commands.js';
import { UsageError } from './usage-error.js';

export interface ImportResult {
  readonly output: string;
  /** 0, or 1 when a ticket or an occurrence had to be left out. */
  readonly code: number;
}

export async function importLogbookCommand(
  store: StoreChoice,
  flags: Flags,
  config: LogticketsConfig | undefined,
): Promise<ImportResult> {
  const from = flags.from;
  if (typeof from !== 'string' || from === '') {
    throw new UsageError(
      'import-logbook needs --from URI: the Logbook store (sqlite:///PATH, a file path or postgresql://…)',
    );
  }
  const prefix = typeof flags.prefix === 'string' ? flags.prefix : 'logbook_';
  let source: LogbookSource | undefined;
  let target: TicketBackend | undefined;
  const bar = progress('Importing from Logbook', process.stderr, 'occurrences');
  try {
    source = await openLogbookSource(from, prefix);
    target = openBackend(store.uri, store.options);
    await target.open();
    const summary = await importLogbook(source, target, {
      ...(config?.redaction === undefined ? {} : { redaction: config.redaction }),
      ...(config?.handler?.titleLength === undefined ? {} : { titleLength: config.handler.titleLength }),
      onProgress: (done, total) => bar.update(done, total),
      onProblem: (line) => bar.log(`logtickets: ${line}`),
    });
    bar.stop();
    return { output: summaryLine(summary, source.name, target.name), code: left(summary) > 0 ? 1 : 0 };
  } finally {
    // Also on an error: the bar's line is ended, and the error is printed below it.
    bar.stop();
    await source?.close();
    await target?.close();
  }
}

function left(summary: ImportSummary): number {
  return summary.skippedTickets + summary.skippedOccurrences;
}

/** One line: what was imported from where into where, what was there already, what was left out. */
export function summaryLine(summary: ImportSummary, from: string, into: string): string {
  const parts = [
    `${plural(summary.imported, 'occurrence')} imported from ${from} into ${into}`,
    `${plural(summary.tickets, 'Logbook ticket')} (${summary.created} new here, ${summary.solved} marked solved)`,
    `${plural(summary.present, 'occurrence')} already there`,
  ];
  if (summary.skippedTickets > 0) parts.push(`${plural(summary.skippedTickets, 'ticket')} left out (see above)`);
  if (summary.skippedOccurrences > 0)
    parts.push(`${plural(summary.skippedOccurrences, 'occurrence')} left out (see above)`);
  return `${parts.join('; ')}.`;
}
