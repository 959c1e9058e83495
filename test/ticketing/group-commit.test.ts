/**
 * Group commit: the writer lets a batch that is not full gather occurrences
 * for `lingerMs` before writing it, so one error per request is not one
 * transaction per error; a full batch, flush(), close() and the end of the
 * process do not wait. Observed on a real MemoryBackend whose writes are
 * counted.
 */

import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  Logger,
  MemoryBackend,
  SqlBackend,
  TicketingHandler,
  type OccurrenceInput,
  type RecordOptions,
  type RecordOutcome,
} from '../../src/index.js';
import { until } from '../conformance/fleet-replicas.js';

const exec = promisify(execFile);

/** A memory store that remembers the size of every batch it was asked to write. */
class CountingBackend extends MemoryBackend {
  readonly batches: number[] = [];
  override async recordBatch(batch: readonly OccurrenceInput[], options?: RecordOptions): Promise<RecordOutcome[]> {
    this.batches.push(batch.reduce((n, o) => n + (o.count ?? 1), 0));
    return super.recordBatch(batch, options);
  }
}

/** Let the event loop run `n` times (immediates and resolved promises). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

test('a trickle of errors waits for the linger, then is written as one batch', async (t) => {
  const store = new CountingBackend();
  const handler = new TicketingHandler(store, { lingerMs: 10_000 });
  t.teardown(() => handler.close());
  const log = new Logger('trickle');
  for (let i = 0; i < 5; i++) {
    handler.run(() => log.error('request %d failed', i));
    await turns(3);
  }
  t.deepEqual(store.batches, [], 'nothing written while the batch gathers');
  t.is(handler.stats().queued, 5);
  t.true(await handler.flush());
  t.deepEqual(store.batches, [5], 'flush() writes at once, in one batch');
  t.is((await store.getTickets())[0]!.occurrenceCount, 5);
});

test('a full batch is written without waiting for the linger', async (t) => {
  const store = new CountingBackend();
  const handler = new TicketingHandler(store, { lingerMs: 10_000, batchSize: 4 });
  t.teardown(() => handler.close());
  const log = new Logger('burst');
  handler.run(() => {
    for (let i = 0; i < 9; i++) log.error('request %d failed', i);
  });
  await until(() => store.batches.length === 2, 'two full batches written', 10_000);
  await turns(5);
  t.deepEqual(store.batches, [4, 4]);
  t.is(handler.stats().queued, 1, 'the last one waits for more');
  t.true(await handler.flush());
  t.deepEqual(store.batches, [4, 4, 1]);
});

test('close() does not wait for the linger and loses nothing', async (t) => {
  const store = new CountingBackend();
  const handler = new TicketingHandler(store, { lingerMs: 10_000 });
  const log = new Logger('closing');
  handler.run(() => {
    for (let i = 0; i < 3; i++) log.error('request %d failed', i);
  });
  t.true(await handler.close({ timeoutMs: 5_000 }));
  t.deepEqual(store.batches, [3]);
  t.is(handler.stats().written, 3);
});

test('lingerMs 0 writes at the next turn, as before group commit', async (t) => {
  const store = new CountingBackend();
  const handler = new TicketingHandler(store, { lingerMs: 0 });
  t.teardown(() => handler.close());
  handler.run(() => new Logger('eager').error('request failed'));
  await until(() => store.batches.length === 1, 'the write', 10_000);
  t.deepEqual(store.batches, [1]);
});

test('records written in a linger arrive with the errors logged during the write', async (t) => {
  // Occurrences logged while a batch is being written wait for the next one: none is lost or written twice.
  const store = new CountingBackend();
  const handler = new TicketingHandler(store, { lingerMs: 1, batchSize: 50 });
  t.teardown(() => handler.close());
  const log = new Logger('steady');
  for (let i = 0; i < 300; i++) {
    handler.run(() => log.error('request %d failed', i));
    if (i % 7 === 0) await turns(1);
  }
  t.true(await handler.flush());
  t.is(
    store.batches.reduce((a, b) => a + b, 0),
    300,
  );
  t.true(store.batches.every((n) => n <= 50));
  t.is((await store.getTickets())[0]!.occurrenceCount, 300);
});

for (const [name, options] of [
  ['with the exit flush', { lingerMs: 10_000 }],
  ['without an exit flush (the linger holds the process)', { lingerMs: 2_000, exitFlushMs: 0 }],
] as const) {
  test(`a process that ends on its own writes what lingers, ${name}`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'logtickets-linger-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const uri = `sqlite:${join(dir, 'tickets.db')}`;
    const fixture = fileURLToPath(new URL('../fixtures/log-and-exit.ts', import.meta.url));
    const { stdout } = await exec(process.execPath, ['--import', 'tsx', fixture, uri, JSON.stringify(options)]);
    t.is((JSON.parse(stdout) as { written: number }).written, 25);
    const backend = new SqlBackend(uri, { readOnly: true });
    t.teardown(() => backend.close());
    t.is((await backend.getTickets())[0]!.occurrenceCount, 25);
  });
}

test('lingerMs is checked: a bad value names the option', (t) => {
  for (const bad of [-1, 1.5, 10_001, '5']) {
    const error = t.throws(() => new TicketingHandler(new MemoryBackend(), { lingerMs: bad as number }));
    t.regex(error!.message, /lingerMs/);
  }
});
