/**
 * Conformance: how a store is opened. Read-only, it reads what is there and
 * refuses every write with READ_ONLY, changing nothing; a store that is not
 * there is STORE_NOT_FOUND for a reader and for `createIfMissing: false`, and
 * opening it so leaves nothing behind (no file, table, collection or index).
 */

import type { TestFn } from 'ava';
import { LogticketsError, type StoreAccessOptions, type TicketBackend, type TicketStore } from '../../src/index.js';
import { hash, occurrence, type WithSubject } from './backend-suite.js';

type Write = readonly [string, (store: TicketStore) => Promise<unknown>];

export function accessSuite(test: TestFn, withSubject: WithSubject): void {
  test('read-only: every write is refused with READ_ONLY, reads see the store, nothing changes', async (t) => {
    await withSubject(async (s, b) => {
      const writer = b as TicketStore;
      const h = hash();
      const [o] = await writer.recordBatch([occurrence({ hash: h }), occurrence({ hash: h })], { batchId: 'w-1' });
      const key = { hash: h, appId: 'app', tracker: 'trac:x' };
      await writer.setLink(key, '7');
      await writer.enqueueOutbox([{ tracker: 'trac:x', hash: h, appId: 'app', payload: { n: 1 } }]);
      const before = await snapshot(writer, o!.ticketId);

      const reader = s.reader() as TicketStore;
      t.teardown(() => reader.close());
      await reader.open();
      const id = o!.ticketId;
      const writes: Write[] = [
        ['recordBatch', (r) => r.recordBatch([occurrence({ hash: h })])],
        ['recordBatch of a new ticket', (r) => r.recordBatch([occurrence({ hash: hash() })])],
        ['recordBatch under an applied id', (r) => r.recordBatch([occurrence({ hash: h })], { batchId: 'w-1' })],
        ['solveTicket', (r) => r.solveTicket(id)],
        ['reopenTicket', (r) => r.reopenTicket(id)],
        ['deleteTicket', (r) => r.deleteTicket(id)],
        ['deleteTicket of no ticket', (r) => r.deleteTicket(987_654)],
        ['claimLink', (r) => r.claimLink({ ...key, hash: hash() }, 'owner', 60_000)],
        ['completeLink', (r) => r.completeLink(key, 'owner', '8')],
        ['releaseLink', (r) => r.releaseLink(key, 'owner')],
        ['setLink', (r) => r.setLink(key, '9')],
        ['claimCommentSlot', (r) => r.claimCommentSlot(key, 0)],
        ['deleteLink', (r) => r.deleteLink(key)],
        ['enqueueOutbox', (r) => r.enqueueOutbox([{ tracker: 'trac:x', hash: h, appId: 'app', payload: {} }])],
        ['leaseOutbox', (r) => r.leaseOutbox('trac:x', 'owner', 10, 60_000)],
        ['completeOutbox', (r) => r.completeOutbox([1], 'owner')],
        ['retryOutbox', (r) => r.retryOutbox(1, 'owner', new Date().toISOString(), 'x')],
        ['postponeOutbox', (r) => r.postponeOutbox([1], 'owner', new Date().toISOString())],
      ];
      for (const [name, write] of writes) {
        const error = await t.throwsAsync(write(reader), { instanceOf: LogticketsError }, name);
        t.is(error?.code, 'READ_ONLY', `${name}: ${error?.message}`);
        t.false(error?.retryable, name);
      }
      t.deepEqual(await snapshot(writer, id), before, 'the store is as it was');
      if (s.child !== undefined) {
        // The same store, seen through the reader.
        t.deepEqual(await snapshot(reader, id), before);
      } else {
        t.is(await reader.countTickets(), 0, 'a read-only memory store is a store of its own');
      }
    })(t);
  });

  test('a store that is not there: read-only or createIfMissing false is STORE_NOT_FOUND and leaves nothing', async (t) => {
    await withSubject(async (s, b) => {
      if (s.absent === undefined) {
        // A memory store is always there.
        t.is(b.name, 'memory');
        return;
      }
      const cases: ReadonlyArray<readonly [StoreAccessOptions, ReadonlyArray<Write>]> = [
        [
          { readOnly: true },
          [
            ['open', (r) => r.open()],
            ['countTickets', (r) => r.countTickets()],
            ['getTickets', (r) => r.getTickets()],
            ['getTicket', (r) => r.getTicket(1)],
            ['countOutbox', (r) => r.countOutbox()],
          ],
        ],
        [
          { createIfMissing: false },
          [
            ['open', (r) => r.open()],
            ['getTickets', (r) => r.getTickets()],
            ['recordBatch', (r) => r.recordBatch([occurrence({ hash: hash() })])],
            ['solveTicket', (r) => r.solveTicket(1)],
            ['setLink', (r) => r.setLink({ hash: hash(), appId: 'app', tracker: 'x' }, '1')],
            ['enqueueOutbox', (r) => r.enqueueOutbox([{ tracker: 'x', hash: hash(), appId: 'a', payload: {} }])],
          ],
        ],
      ];
      for (const [options, calls] of cases) {
        const store = s.absent.open(options) as TicketStore;
        for (const [name, call] of calls) {
          const what = `${JSON.stringify(options)} ${name}`;
          const error = await t.throwsAsync(call(store), { instanceOf: LogticketsError }, what);
          t.is(error?.code, 'STORE_NOT_FOUND', `${what}: ${error?.message}`);
          t.regex(error?.message ?? '', /no (store at|table|collection) /, what);
        }
        await store.close();
        t.deepEqual(await s.absent.leftovers(), [], `${JSON.stringify(options)} left nothing behind`);
      }
      // The same store opened by a writer is created: what leftovers() sees is real.
      const writer = s.absent.open({});
      await writer.recordBatch([occurrence({ hash: hash() })]);
      await writer.close();
      t.true((await s.absent.leftovers()).length > 0, 'a writer creates the store');
      const reader = s.absent.open({ readOnly: true });
      t.is(await reader.countTickets(), 1, 'then a reader reads it');
      await reader.close();
    })(t);
  });
}

/** Everything a write could change, as plain data. */
async function snapshot(store: TicketStore | TicketBackend, ticketId: number): Promise<unknown> {
  const s = store as TicketStore;
  return {
    tickets: await s.getTickets({ orderBy: 'id', limit: 100 }),
    count: await s.countTickets(),
    occurrences: await s.getOccurrences(ticketId, { limit: 100 }),
    link: await s.getLink({ hash: (await s.getTicket(ticketId))!.hash, appId: 'app', tracker: 'trac:x' }),
    outbox: await s.countOutbox(),
  };
}
