/**
 * The writer's queue is bounded by bytes as well as by entries: large records
 * arriving while the store cannot be written fold into exact counts instead
 * of holding memory without limit.
 */

import test from 'ava';
import { Logger, SqlBackend, TicketingHandler } from '../../src/index.js';
import { lockedStore } from './locked-store.js';

const MiB = 1024 * 1024;

const shapes = [
  { name: 'one problem, 8 KB strings in extra', problems: 1, extra: () => ({ body: 'x'.repeat(8192) }) },
  { name: '20 problems, 8 KB messages', problems: 20, extra: () => ({}), message: 'y'.repeat(8192) },
  {
    name: '5 problems, wide objects',
    problems: 5,
    extra: () => Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'z'.repeat(500)])),
  },
  { name: '3 problems, errors with long stacks', problems: 3, extra: () => ({}), error: true },
];

for (const shape of shapes) {
  test.serial(`the queue stays within maxQueueBytes and counts stay exact: ${shape.name}`, async (t) => {
    const { path, unlock } = await lockedStore(t);
    const handler = new TicketingHandler(`sqlite:${path}`, {
      onError: () => {},
      maxQueueBytes: MiB,
      maxQueue: 100_000,
      retry: { initialMs: 5, maxMs: 20 },
    });
    const loggers = Array.from({ length: shape.problems }, (_, i) => new Logger(`svc.${i}`));
    const total = 2000;
    handler.run(() => {
      for (let i = 0; i < total; i++) {
        const options: { extra: Record<string, unknown>; error?: Error } = { extra: shape.extra() };
        if (shape.error) {
          const error = new Error('e'.repeat(4000));
          error.stack = `${'at frame (file.js:1:1)\n'.repeat(400)}`;
          options.error = error;
        }
        loggers[i % shape.problems]!.error(options, shape.message ?? 'request %d failed', i);
      }
    });
    const stats = handler.stats().backends[0]!;
    t.is(stats.queued, total, 'every occurrence is still accounted for');
    // Whole records stay under the bound; each folded problem may add one short summary.
    t.true(stats.queuedBytes <= MiB + shape.problems * 1024, `${stats.queuedBytes} bytes held`);
    t.true(stats.queuedBytes > 0);
    unlock();
    t.true(await handler.flush({ timeoutMs: 30_000 }));
    t.true(await handler.close());
    const store = new SqlBackend(`sqlite:${path}`);
    t.teardown(() => store.close());
    const tickets = await store.getTickets({ limit: 100 });
    t.is(tickets.length, shape.problems);
    t.is(
      tickets.reduce((n, x) => n + x.occurrenceCount, 0),
      total,
    );
    t.is(handler.stats().written, total);
  });
}

test('maxQueueBytes is checked like every other option', (t) => {
  t.throws(() => new TicketingHandler('memory:', { maxQueueBytes: 10 }), { message: /maxQueueBytes/ });
  t.throws(() => new TicketingHandler('memory:', { maxQueueBytes: 'big' as never }), { message: /maxQueueBytes/ });
});
