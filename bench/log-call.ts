/**
 * Scenario (a): what one `logger.error()` costs the caller with a
 * TicketingHandler attached, next to pino writing the same record to
 * /dev/null. Only the calls are timed; the background writes run between
 * rounds (a real service spreads its calls out the same way).
 */

import pino from 'pino';
import { Logger, MemoryBackend, TicketingHandler } from '../src/index.js';
import { measure, type Figure } from './measure.js';

const ROUND = 1_000;

export async function logCall(rounds: number): Promise<Figure[]> {
  const order = { orderId: 'A-1042', userId: 77, amountCents: 12_999, currency: 'EUR' };

  const nullDestination = pino.destination({ dest: '/dev/null', minLength: 4096, sync: false });
  const p = pino(nullDestination);
  const pinoError = () => p.error(order, 'payment %s failed', 'A-1042');

  const handler = new TicketingHandler(new MemoryBackend(), { maxQueue: ROUND * 2 }).pushApplication();
  const log = new Logger('shop.checkout');
  const oursError = () => log.error({ extra: order }, 'payment %s failed', 'A-1042');

  const pinoNs = await measure(rounds, ROUND, pinoError, async () => {});
  const oursNs = await measure(rounds, ROUND, oursError, () => handler.flush().then(() => undefined));
  handler.popApplication();
  await handler.close();
  nullDestination.flushSync();
  const written = handler.stats().written;
  return [
    { scenario: 'log call', subject: 'pino → /dev/null', value: pinoNs / 1000, unit: 'µs/call' },
    {
      scenario: 'log call',
      subject: 'logtickets (TicketingHandler)',
      value: oursNs / 1000,
      unit: 'µs/call',
      ratio: { value: oursNs / pinoNs, label: '× pino', target: '≤ 3', met: oursNs / pinoNs <= 3 },
      note: `${written} occurrences written`,
    },
  ];
}
