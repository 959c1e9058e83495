/**
 * Twenty distinct error call sites of a shop service, for the scenarios that
 * need many problems at once (bench/flood-memory.ts, bench/logbook-peer.ts).
 *
 * Each site is its own source line, so the default fingerprint (level,
 * channel, file, line) makes one ticket per site, as twenty real `log.error`
 * calls spread over a code base would. Messages and `extra` vary with `i` the
 * way they do in production (an order id, a user, an amount), so titles and
 * records are not one repeated string. bench/logbook_peer.py has the same
 * twenty sites for Python Logbook.
 */

import type { Logger } from '../src/index.js';

export type CallSite = (log: Logger, i: number) => void;

export const CALL_SITES: readonly CallSite[] = [
  (log, i) =>
    log.error({ extra: { orderId: `A-${i}`, amountCents: 1299 + (i % 50) } }, 'payment for order A-%d failed', i),
  (log, i) =>
    log.error({ extra: { userId: i % 1000, attempt: i % 3 } }, 'login for user %d rejected by the IdP', i % 1000),
  (log, i) =>
    log.error({ extra: { sku: `sku-${i % 200}`, warehouse: 'ber-1' } }, 'stock lookup for sku-%d timed out', i % 200),
  (log, i) => log.error({ extra: { cartId: `c${i}`, items: i % 7 } }, 'cart c%d could not be saved', i),
  (log, i) => log.error({ extra: { coupon: `SAVE${i % 30}` } }, 'coupon SAVE%d is unknown', i % 30),
  (log, i) => log.error({ extra: { carrier: 'dhl', parcel: i } }, 'shipping label %d not created', i),
  (log, i) => log.error({ extra: { invoice: `INV-${i}`, pages: 1 + (i % 4) } }, 'invoice INV-%d failed to render', i),
  (log, i) => log.error({ extra: { to: `user${i % 1000}@example.org` } }, 'mail to user%d bounced', i % 1000),
  (log, i) => log.error({ extra: { query: 'red shoes', page: i % 10 } }, 'search backend returned %d', 500 + (i % 4)),
  (log, i) => log.error({ extra: { currency: 'EUR', rate: 1.08 } }, 'exchange rate feed stale for %ds', i % 600),
  (log, i) => log.error({ extra: { webhook: 'stripe', event: `evt_${i}` } }, 'webhook evt_%d signature mismatch', i),
  (log, i) => log.error({ extra: { job: 'reindex', shard: i % 16 } }, 'reindex of shard %d aborted', i % 16),
  (log, i) => log.error({ extra: { image: `img-${i}.jpg`, bytes: 20_000 + i } }, 'thumbnail of img-%d.jpg failed', i),
  (log, i) => log.error({ extra: { pool: 'orders', waiting: i % 40 } }, 'db pool exhausted (%d waiting)', i % 40),
  (log, i) => log.error({ extra: { key: `session:${i}`, node: i % 3 } }, 'cache node %d unreachable', i % 3),
  (log, i) => log.error({ extra: { review: i, stars: 1 + (i % 5) } }, 'review %d rejected by moderation', i),
  (log, i) =>
    log.error({ extra: { address: { zip: `${10_000 + (i % 90_000)}`, country: 'DE' } } }, 'address check failed'),
  (log, i) => log.error({ extra: { export: 'csv', rows: i * 10 } }, 'report export of %d rows failed', i * 10),
  (log, i) =>
    log.error({ extra: { flag: 'new-checkout', user: i % 1000 } }, 'feature flag service slow: %dms', 900 + (i % 300)),
  (log, i) => log.error({ extra: { refund: `R-${i}`, amountCents: 500 + (i % 100) } }, 'refund R-%d declined', i),
];
