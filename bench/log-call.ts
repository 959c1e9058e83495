/**
 * Scenario (a): what one `logger.error()` costs the caller with a
 * TicketingHandler attached, next to pino writing the same record to
 * /dev/null. Only the calls are timed; the background writes run between
 * rounds (a real service spreads its calls out the same way).
 *
 * Then the same call while the handler's queue is full because its store is
 * dead: an outage must not make logging dearer for the application, which is
 * when it logs the most.
 */

import pino from 'pino';
import { Logger, MemoryBackend, TicketingHandler, type TicketingStats } from '../src/index.js';
import { measure, type Figure } from './measure.js';

const ROUND = 1_000;
const ORDER = { orderId: 'A-1042', userId: 77, amountCents: 12_999, currency: 'EUR' };
/** Connection refused at once: the writer keeps retrying with backoff, so its queue stays full. */
const DEAD_STORE = 'postgres://127.0.0.1:1/none';
const FULL_QUEUE = 1_000;

export async function logCall(rounds: number): Promise<Figure[]> {
  const nullDestination = pino.destination({ dest: '/dev/null', minLength: 4096, sync: false });
  const p = pino(nullDestination);
  const pinoError = () => p.error(ORDER, 'payment %s failed', 'A-1042');

  const handler = new TicketingHandler(new MemoryBackend(), { maxQueue: ROUND * 2 }).pushApplication();
  const log = new Logger('shop.checkout');
  const oursError = () => log.error({ extra: ORDER }, 'payment %s failed', 'A-1042');

  const pinoNs = await measure(rounds, ROUND, pinoError, async () => {});
  const oursNs = await measure(rounds, ROUND, oursError, () => handler.flush().then(() => undefined));
  handler.popApplication();
  await handler.close();
  nullDestination.flushSync();
  const written = handler.stats().written;
  const ratio = oursNs / pinoNs;
  return [
    { scenario: 'log call', subject: 'pino → /dev/null', value: pinoNs / 1000, unit: 'µs/call' },
    {
      scenario: 'log call',
      subject: 'logtickets (TicketingHandler)',
      value: oursNs / 1000,
      unit: 'µs/call',
      ratio: { value: ratio, label: '× pino', target: '≤ 1.0', met: ratio <= 1 },
      note: `${written} occurrences written`,
    },
    await queueFullCall(rounds, oursError, oursNs),
  ];
}

/**
 * The same call (`call`, logging at a level a TicketingHandler takes) while
 * the queue of a handler on a dead store is full, next to `normalNs`, the
 * normal call's ns. Every measured call must find the queue full: the stats
 * before and after prove it, or this throws.
 */
export async function queueFullCall(rounds: number, call: () => void, normalNs: number): Promise<Figure> {
  const handler = new TicketingHandler(DEAD_STORE, {
    maxQueue: FULL_QUEUE,
    // The refused connections are the point here, not news.
    onError: () => {},
    exitFlushMs: 0,
  }).pushApplication();
  try {
    for (let i = 0; i < FULL_QUEUE; i++) call();
    // Let the writer find the store dead before the clock starts, so it is
    // backing off (not about to write) while the calls are timed.
    await until(() => handler.stats().retried > 0, 10_000);
    const before = handler.stats();
    if (before.queued < FULL_QUEUE || before.written > 0) {
      throw new Error(`the queue is not full before the timed calls: ${JSON.stringify(summary(before))}`);
    }
    // Between rounds the loop turns, as in a service: the writer may retry then.
    const ns = await measure(rounds, ROUND, call, () => new Promise((resolve) => setImmediate(resolve)));
    const after = handler.stats();
    // measure() makes 3 warm-up rounds, then `rounds`: each of those calls
    // must have been folded into a count (or dropped, with the table of counts full).
    const calls = (rounds + 3) * ROUND;
    const folded = after.queued - before.queued + after.coalesced - before.coalesced;
    const dropped = after.dropped.queue_full - before.dropped.queue_full;
    if (after.written > 0 || folded + dropped !== calls) {
      throw new Error(
        `not every timed call found the queue full (${calls} calls): ${JSON.stringify(summary(after))} (before: ${JSON.stringify(summary(before))})`,
      );
    }
    const ratio = ns / normalNs;
    return {
      scenario: 'log call',
      subject: `… queue full (dead store, maxQueue ${FULL_QUEUE.toLocaleString('en-US')})`,
      value: ns / 1000,
      unit: 'µs/call',
      ratio: { value: ratio, label: '× normal call', target: '≤ 1.5', met: ratio <= 1.5 },
      note: `moonshot ≤ 1.1× (${ratio <= 1.1 ? 'met' : 'not yet'}); all ${calls.toLocaleString('en-US')} calls found the queue full: ${folded.toLocaleString('en-US')} folded into counts, ${dropped} dropped`,
    };
  } finally {
    handler.popApplication();
    // The store never comes back: give up the queue rather than wait for it.
    await handler.close({ timeoutMs: 200 });
  }
}

function summary(stats: TicketingStats) {
  return {
    queued: stats.queued,
    written: stats.written,
    retried: stats.retried,
    coalesced: stats.coalesced,
    dropped: stats.dropped.queue_full,
  };
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
