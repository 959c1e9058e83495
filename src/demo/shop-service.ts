/**
 * A pretend online shop for the demo: a few modules, each logging from its
 * own call sites, with the mix of trouble a real service has — declined
 * payments, timeouts with a cause, low stock warnings, a rare critical.
 */

import { Logger } from '../logging/logger.js';

const checkoutLog = new Logger('shop.checkout');
const inventoryLog = new Logger('shop.inventory');
const dbLog = new Logger('shop.db');
const mailLog = new Logger('shop.mail');

/** A small deterministic random source, so each demo worker behaves the same every run. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

class QueryTimeout extends Error {
  override readonly name = 'QueryTimeout';
}

function checkout(orderId: string, random: () => number): void {
  checkoutLog.info('order %s placed', orderId);
  if (random() < 0.3) {
    const amountCents = Math.round(random() * 20_000);
    checkoutLog.error({ extra: { orderId, amountCents, card: 'visa' } }, 'payment declined for order %s', orderId);
  }
}

function reserveStock(sku: string, random: () => number): void {
  const left = Math.floor(random() * 10);
  if (left < 3) inventoryLog.warning({ extra: { sku, left } }, 'stock low for %s: %d left', sku, left);
}

function loadCustomer(customerId: number, random: () => number): void {
  if (random() < 0.15) {
    const ms = 2_000 + Math.round(random() * 3_000);
    const error = new QueryTimeout(`select from customers timed out after ${ms} ms`, {
      cause: Object.assign(new Error('connection reset by peer'), { code: 'ECONNRESET' }),
    });
    dbLog.exception(error, 'loading customer %d failed', customerId);
  }
}

function sendReceipt(random: () => number): void {
  if (random() < 0.02) mailLog.critical('mail queue is stuck: %d messages waiting', 500 + Math.round(random() * 500));
}

/** One round of traffic: a few orders through every module. */
export function serveRound(round: number, random: () => number): void {
  for (let i = 0; i < 5; i++) {
    const orderId = `ord-${round}-${i}`;
    loadCustomer(1000 + Math.floor(random() * 50), random);
    reserveStock(`sku-${Math.floor(random() * 4)}`, random);
    checkout(orderId, random);
    sendReceipt(random);
  }
}
