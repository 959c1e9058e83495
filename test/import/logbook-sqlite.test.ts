/**
 * Importing SQLite stores written by the real Logbook (PyPI, in a venv):
 * every ticket and occurrence as Logbook itself reads them back, a second
 * run that changes nothing, a later run that imports only what is new, a
 * custom prefix and app id, and a logtickets handler with pathStyle
 * `absolute` meeting an imported ticket again.
 */

import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Logger, SqlBackend, TicketingHandler, type TicketingHandlerOptions } from '../../src/index.js';
import { serverAvailable } from '../services/availability.js';
import { logbookUnavailableReason, writeLogbookStore } from '../services/logbook/logbook-writer.js';
import { assertImported, contents, importFrom } from './import-subject.js';

function dir(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'logtickets-logbook-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function store(t: { teardown(fn: () => Promise<void>): void }, path: string): Promise<SqlBackend> {
  const backend = new SqlBackend(`sqlite:${path}`);
  t.teardown(() => backend.close());
  await backend.open();
  return backend;
}

if (serverAvailable(test, 'Logbook', logbookUnavailableReason())) {
  test('every ticket and occurrence of a real Logbook store is imported as Logbook reads it', async (t) => {
    const d = dir(t);
    const logbook = await writeLogbookStore(`sqlite:///${join(d, 'logbook.db')}`);
    t.deepEqual(
      logbook.map((x) => [x.channel, x.level, x.occurrence_count, x.solved]),
      [
        ['shop.orders', 14, 3, false],
        ['shop.payments', 15, 2, false],
        ['shop.cart', 13, 1, true],
        ['shop.search', 12, 1, false],
      ],
      'the store Logbook wrote',
    );
    const target = await store(t, join(d, 'logtickets.db'));
    const problems: string[] = [];
    const summary = await importFrom(`sqlite:///${join(d, 'logbook.db')}`, target, 'logbook_', {
      onProblem: (line) => problems.push(line),
    });
    t.deepEqual(summary, {
      tickets: 4,
      imported: 7,
      present: 0,
      created: 4,
      solved: 1,
      skippedTickets: 0,
      skippedOccurrences: 0,
    });
    t.deepEqual(problems, []);
    await assertImported(t, target, logbook);
    const [payments] = await target.getTickets({ filter: { channel: 'shop.payments' } });
    t.is(payments!.title, 'charging 5 failed: division by zero');
    const [occurrence] = await target.getOccurrences(payments!.id, { orderBy: 'time', limit: 1 });
    const data = occurrence!.data as { error: { stack: string }; levelName: string; appId: string };
    t.regex(data.error.stack, /^Traceback \(most recent call last\):[\s\S]*ZeroDivisionError: division by zero$/);
    t.is(data.levelName, 'CRITICAL');
    t.is(data.appId, 'generic');
  });

  test('a second import changes nothing; a later one imports only what Logbook wrote since', async (t) => {
    const d = dir(t);
    const uri = `sqlite:///${join(d, 'logbook.db')}`;
    await writeLogbookStore(uri);
    const target = await store(t, join(d, 'logtickets.db'));
    await importFrom(uri, target);
    const before = await contents(target);
    const again = await importFrom(uri, target);
    t.like(again, { tickets: 4, imported: 0, present: 7, created: 0, solved: 0 });
    t.deepEqual(await contents(target), before, 'tickets and occurrences are the same, field for field');

    const logbook = await writeLogbookStore(uri, { round: 'more' });
    const more = await importFrom(uri, target);
    t.like(more, { tickets: 5, imported: 4, present: 7, created: 1, solved: 0 });
    await assertImported(t, target, logbook);
    const orders = logbook.find((x) => x.channel === 'shop.orders' && x.level === 14)!;
    t.is(orders.occurrence_count, 5);
    const cart = logbook.find((x) => x.channel === 'shop.cart')!;
    t.false(cart.solved, 'Logbook opened the solved ticket again');
    const [ours] = await target.getTickets({ filter: { channel: 'shop.cart' } });
    t.like(ours, { state: 'regressed', occurrenceCount: 2, regressionCount: 1 });
    const final = await contents(target);
    t.like(await importFrom(uri, target), { imported: 0, present: 11 });
    t.deepEqual(await contents(target), final);
  });

  test('a custom prefix and app id are read; the wrong prefix is named with the one that is there', async (t) => {
    const d = dir(t);
    const uri = `sqlite:///${join(d, 'logbook.db')}`;
    const logbook = await writeLogbookStore(uri, { prefix: 'shop_', appId: 'shop' });
    const target = await store(t, join(d, 'logtickets.db'));
    const error = await t.throwsAsync(importFrom(uri, target));
    t.is(
      error!.message,
      `no Logbook ticketing tables logbook_tickets and logbook_occurrences in sqlite:${join(d, 'logbook.db')} (try --prefix shop_)`,
    );
    t.like(await importFrom(uri, target, 'shop_'), { tickets: 4, imported: 7, created: 4 });
    await assertImported(t, target, logbook);
    t.deepEqual(
      (await target.getTickets()).map((x) => x.appId),
      ['shop', 'shop', 'shop', 'shop'],
    );
  });

  test("pathStyle 'absolute': a new log call meets the ticket imported from Logbook for its file and line", async (t) => {
    const d = dir(t);
    // A JavaScript call site at a known path and line; Logbook writes two records "from" it first.
    const caller = join(d, 'caller.mjs');
    writeFileSync(caller, "export function chargeCard(log, n) {\n  log.error('payment %d failed', n);\n}\n");
    const uri = `sqlite:///${join(d, 'logbook.db')}`;
    const logbook = await writeLogbookStore(uri, { site: `${caller}:2` });
    const imported = logbook.find((x) => x.channel === 'shop.js')!;
    t.is(imported.location, `${caller}:2`);
    const target = await store(t, join(d, 'logtickets.db'));
    await importFrom(uri, target);
    const [before] = await target.getTickets({ filter: { channel: 'shop.js' } });
    t.is(before!.occurrenceCount, 2);

    const { chargeCard } = (await import(pathToFileURL(caller).href)) as {
      chargeCard(log: Logger, n: number): void;
    };
    const log = new Logger('shop.js');
    const logWith = async (options: TicketingHandlerOptions) => {
      const handler = new TicketingHandler(target, { ...options, projectRoot: d, exitFlushMs: 0 });
      handler.run(() => chargeCard(log, 3));
      t.true(await handler.flush({ timeoutMs: 10_000 }));
      await handler.close();
    };
    await logWith({ pathStyle: 'absolute' });
    const [after] = await target.getTickets({ filter: { channel: 'shop.js' } });
    t.is(after!.id, before!.id, 'the same ticket');
    t.is(after!.hash, imported.record_hash);
    t.is(after!.occurrenceCount, 3);
    t.is(await target.countTickets(), 5);

    // The default names the file relative to the project root: another hash, another ticket.
    await logWith({});
    t.is(await target.countTickets(), 6);
    const [relative] = await target.getTickets({ filter: { channel: 'shop.js' }, orderBy: '-id' });
    t.is(relative!.location, 'caller.mjs:2');
  });
}
