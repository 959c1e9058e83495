/**
 * A delivery's id: a UUID version 7, so that it carries the time it was made.
 * A tracker's text keeps the id (a hidden marker); after an ambiguous failure
 * the deliverer looks for it among the ticket's comments made since that time
 * (less a margin for clocks), never through the whole history of a ticket.
 * Also here, shared by the stores' leases: what a lease takes as due.
 *
 * `uuid` is loaded on the first id made (about 20 ms: it is 20 modules),
 * not with logtickets. Ids are made inside synchronous code, so it is
 * required: Node 20.19 and later load an ES module that way.
 */

import { createRequire } from 'node:module';
import type { v7 as V7 } from 'uuid';
import { LogticketsError } from '../errors.js';
import { checkOptions } from '../options.js';

const require = createRequire(import.meta.url);
let v7: typeof V7 | undefined;

/** A new delivery id, stamped with `now`. */
export function newDeliveryId(now: Date): string {
  v7 ??= (require('uuid') as typeof import('uuid')).v7;
  return v7({ msecs: now.getTime() });
}

/** When the delivery id was made, or undefined for an id that carries no time (made before ids were stamped). */
export function deliveryIdTime(id: string): Date | undefined {
  const hex = /^([0-9a-f]{8})-([0-9a-f]{4})-7/i.exec(id);
  if (hex === null) return undefined;
  return new Date(parseInt(hex[1]! + hex[2]!, 16));
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)$/i;

/**
 * What a lease takes as due: entries available by `options.dueBy` when it is
 * given (checked: an ISO 8601 time with its zone), else by `now`. Whether an
 * earlier lease has run out is always judged by `now`.
 */
export function leaseDueBy(now: Date, options: { readonly dueBy?: string } | undefined): Date {
  checkOptions('leaseOutbox options', options, { dueBy: 'string' });
  const dueBy = options?.dueBy;
  if (dueBy === undefined) return now;
  const time = ISO_TIME.test(dueBy) ? Date.parse(dueBy) : Number.NaN;
  if (Number.isNaN(time)) {
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      `leaseOutbox options.dueBy must be an ISO 8601 time, got ${JSON.stringify(dueBy)}`,
    );
  }
  return new Date(time);
}
