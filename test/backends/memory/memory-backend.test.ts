import test from 'ava';
import { LogticketsError, MemoryBackend } from '../../../src/index.js';
import { AppliedBatches, MAX_REMEMBERED_BATCHES } from '../../../src/backends/applied-batches.js';
import { BATCH_ID_RETENTION_MS } from '../../../src/backends/contract.js';
import { backendSuite, hash, occurrence } from '../../conformance/backend-suite.js';
import { outboxMergeSuite } from '../../conformance/outbox-merge-suite.js';
import { trackerStateSuite } from '../../conformance/tracker-state-suite.js';

// The reference backend: the plainest statement of the contract.
backendSuite(
  test,
  async () => {
    const backend = new MemoryBackend();
    return { backend, sibling: () => backend, reader: () => new MemoryBackend({ readOnly: true }) };
  },
  { nul: 'kept', batches: 'atomic' },
);

const memoryTrackers = async (now: () => Date) => {
  const store = new MemoryBackend({ now });
  return { store, another: () => store, reader: () => new MemoryBackend({ readOnly: true, now }) };
};
trackerStateSuite(test, memoryTrackers);
outboxMergeSuite(test, memoryTrackers);

const HOUR = 3_600_000;

test('applied batch ids are bounded by age and by number, and exact within both', (t) => {
  const cases: ReadonlyArray<{
    name: string;
    ids: number;
    stepMs: number;
    /** Ids (by index) that must still be recognised at the end. */
    remembered: readonly number[];
    forgotten: readonly number[];
    size: number;
  }> = [
    { name: 'a few ids, all recent', ids: 10, stepMs: 1_000, remembered: [0, 5, 9], forgotten: [], size: 10 },
    {
      name: 'as many as the bound',
      ids: MAX_REMEMBERED_BATCHES,
      stepMs: 1,
      remembered: [0, MAX_REMEMBERED_BATCHES - 1],
      forgotten: [],
      size: MAX_REMEMBERED_BATCHES,
    },
    {
      name: 'more than the bound: the oldest go first',
      ids: MAX_REMEMBERED_BATCHES + 500,
      stepMs: 1,
      remembered: [500, MAX_REMEMBERED_BATCHES + 499],
      forgotten: [0, 499],
      size: MAX_REMEMBERED_BATCHES,
    },
    {
      name: 'one an hour for two days: a day is kept',
      ids: 48,
      stepMs: HOUR,
      remembered: [47, 24],
      forgotten: [0, 22],
      size: 25,
    },
  ];
  for (const c of cases) {
    let now = 0;
    const applied = new AppliedBatches(() => now);
    for (let i = 0; i < c.ids; i++) {
      applied.add(`b${i}`);
      if (i + 1 < c.ids) now += c.stepMs;
    }
    for (const i of c.remembered) t.true(applied.has(`b${i}`), `${c.name}: b${i} is remembered`);
    for (const i of c.forgotten) t.false(applied.has(`b${i}`), `${c.name}: b${i} is forgotten`);
    t.is(applied.size, c.size, c.name);
  }
  let now = 0;
  const applied = new AppliedBatches(() => now);
  applied.add('x');
  now += BATCH_ID_RETENTION_MS;
  t.true(applied.has('x'), 'kept for the whole retention period');
  now += 1;
  t.false(applied.has('x'), 'and not longer');
  t.is(applied.size, 0);
});

test('a memory store forgets batch ids by age, and a retry within the day counts once', async (t) => {
  let now = Date.UTC(2025, 2, 1);
  const backend = new MemoryBackend({ now: () => new Date(now) });
  const h = hash();
  const batch = [occurrence({ hash: h })];
  await backend.recordBatch(batch, { batchId: 'first' });
  for (let i = 0; i < 40; i++) {
    now += 60_000;
    await backend.recordBatch([occurrence({ hash: hash() })], { batchId: `other-${i}` });
  }
  const [retried] = await backend.recordBatch(batch, { batchId: 'first' });
  t.is(retried!.occurrenceCount, 1, 'recognised after many other batches');
  now += BATCH_ID_RETENTION_MS + 1;
  await backend.recordBatch([occurrence({ hash: hash() })], { batchId: 'later' });
  const [late] = await backend.recordBatch(batch, { batchId: 'first' });
  t.is(late!.occurrenceCount, 2, 'a "retry" more than a day later is a new batch');
});

test('a read-only memory store refuses writes before validating them', async (t) => {
  const backend = new MemoryBackend({ readOnly: true });
  const error = await t.throwsAsync(backend.recordBatch([occurrence({ hash: 'not-a-hash' })]), {
    instanceOf: LogticketsError,
  });
  t.is(error?.code, 'READ_ONLY');
  t.throws(() => new MemoryBackend({ readOnly: 'yes' } as never), { message: /readOnly/ });
});
