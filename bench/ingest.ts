/**
 * Scenario (b): sustained ingest into a store, batched as the pipeline writes
 * (500 occurrences per write: one transaction in SQL) vs the naive way (one write per
 * occurrence), plus the whole pipeline end to end (logger → handler → store).
 */

import { randomBytes } from 'node:crypto';
import { Logger, openBackend, TicketingHandler, type OccurrenceInput, type TicketBackend } from '../src/index.js';
import { throughput, type Figure } from './measure.js';

const PROBLEMS = Array.from({ length: 20 }, () => randomBytes(20).toString('hex'));

function occurrence(i: number): OccurrenceInput {
  return {
    hash: PROBLEMS[i % PROBLEMS.length]!,
    appId: 'bench',
    level: 14,
    channel: 'shop.checkout',
    location: `src/checkout.ts:${i % PROBLEMS.length}`,
    function: 'charge',
    title: `payment ${i} failed`,
    time: new Date().toISOString(),
    data: {
      message: `payment ${i} failed`,
      extra: { orderId: `A-${i}`, userId: i % 1000, amountCents: 12_999, items: ['sku-1', 'sku-2'] },
      location: { file: 'src/checkout.ts', line: i % PROBLEMS.length, column: 7, function: 'charge' },
      process: { pid: process.pid, hostname: 'bench', threadId: 0 },
    },
  };
}

export async function ingest(
  name: string,
  uri: () => string,
  options: { batched: number; naive: number; prefix?: string; target?: number },
): Promise<Figure[]> {
  const open = async (): Promise<TicketBackend> => {
    const backend = openBackend(
      uri(),
      options.prefix === undefined ? {} : { prefix: `${options.prefix}${randomBytes(3).toString('hex')}_` },
    );
    await backend.open();
    return backend;
  };

  // The records are made before the clock starts: only the store's work is timed.
  const batches = Array.from({ length: Math.ceil(options.batched / 500) }, (_, b) =>
    Array.from({ length: 500 }, (_, j) => occurrence(b * 500 + j)),
  );
  const singles = Array.from({ length: options.naive }, (_, i) => [occurrence(i)]);

  const batchedBackend = await open();
  const batched = await throughput(options.batched, async () => {
    for (const batch of batches) await batchedBackend.recordBatch(batch);
  });
  await batchedBackend.close();

  const naiveBackend = await open();
  const naive = await throughput(options.naive, async () => {
    for (const single of singles) await naiveBackend.recordBatch(single);
  });
  await naiveBackend.close();

  const pipelineUri = uri();
  const handler = new TicketingHandler(pipelineUri);
  const log = new Logger('shop.checkout');
  const endToEnd = await throughput(options.batched, async () => {
    handler.run(() => {
      for (let i = 0; i < options.batched; i++) log.error({ extra: { orderId: i } }, 'payment %d failed', i);
    });
    await handler.flush();
  });
  const dropped = Object.values(handler.stats().dropped).reduce((a, b) => a + b, 0);
  await handler.close();

  return [
    { scenario: `ingest ${name}`, subject: 'one write per occurrence', value: naive, unit: 'occ/s' },
    {
      scenario: `ingest ${name}`,
      subject: 'batched (500 per write)',
      value: batched,
      unit: 'occ/s',
      ratio: {
        value: batched / naive,
        label: '× naive',
        target: `≥ ${options.target ?? 20}`,
        met: batched / naive >= (options.target ?? 20),
      },
    },
    {
      scenario: `ingest ${name}`,
      subject: 'whole pipeline (log calls → store)',
      value: endToEnd,
      unit: 'occ/s',
      note: `${dropped} dropped`,
    },
  ];
}
