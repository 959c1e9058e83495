/**
 * The in-memory store's outbox: at most one pending row per (tracker, app
 * id, hash), merged into by every new delivery of that problem; a lease
 * freezes a row and gives it a delivery id unless it still holds one from an
 * earlier lease (then the entry is `attempted`), and leaves a pending row
 * alone while its problem has a frozen row with an id; a postpone makes it
 * pending again without an id, or merges it into the problem's pending row.
 * Every method runs to its end without awaiting, so each is atomic here.
 */

import type { JsonValue } from '../../logging/json-safe.js';
import { isoTime } from '../batch.js';
import type { OutboxEntry, OutboxEntryInput } from '../contract.js';
import { leaseDueBy, newDeliveryId } from '../delivery-id.js';
import { mergePayloads } from '../outbox-summary.js';

interface Row {
  // `attempted` is decided by each lease, so a row does not keep it.
  entry: { -readonly [K in keyof Omit<OutboxEntry, 'attempted'>]: OutboxEntry[K] };
  owner: string | null;
  leasedUntil: number;
}

export const pendingKey = (e: { tracker: string; appId: string; hash: string }): string =>
  `${e.tracker}\u0000${e.appId}\u0000${e.hash}`;

export class MemoryOutbox {
  private readonly rows = new Map<number, Row>();
  /** The pending row of each problem. */
  private readonly pending = new Map<string, number>();
  private nextId = 1;

  constructor(private readonly now: () => Date) {}

  enqueue(entries: readonly OutboxEntryInput[]): void {
    const availableAt = this.now().toISOString();
    for (const input of entries) {
      const key = pendingKey(input);
      const id = this.pending.get(key);
      if (id !== undefined) {
        const row = this.rows.get(id)!;
        row.entry.payload = mergePayloads(row.entry.payload, clone(input.payload));
        continue;
      }
      const newId = this.nextId++;
      this.pending.set(key, newId);
      this.rows.set(newId, {
        entry: {
          id: newId,
          tracker: input.tracker,
          hash: input.hash,
          appId: input.appId,
          payload: clone(input.payload),
          attempts: 0,
          availableAt,
          lastError: null,
          deliveryId: null,
          state: 'pending',
        },
        owner: null,
        leasedUntil: 0,
      });
    }
  }

  lease(
    tracker: string,
    owner: string,
    limit: number,
    leaseMs: number,
    options?: { readonly dueBy?: string },
  ): OutboxEntry[] {
    const now = this.now();
    const due = leaseDueBy(now, options).toISOString();
    const leased: OutboxEntry[] = [];
    // Problems with a frozen row that a lease gave an id (in flight, or maybe sent): their pending row waits.
    const handedOut = new Set<string>();
    for (const { entry } of this.rows.values())
      if (entry.state === 'frozen' && entry.deliveryId !== null) handedOut.add(pendingKey(entry));
    for (const item of [...this.rows.values()].sort((a, b) => a.entry.id - b.entry.id)) {
      if (leased.length >= limit) break;
      if (item.entry.tracker !== tracker || item.entry.availableAt > due) continue;
      if (item.owner !== null && item.leasedUntil > now.getTime()) continue;
      const key = pendingKey(item.entry);
      if (item.entry.state === 'pending') {
        if (handedOut.has(key)) continue;
        item.entry.state = 'frozen';
        this.pending.delete(key);
      }
      item.owner = owner;
      item.leasedUntil = now.getTime() + leaseMs;
      const attempted = item.entry.deliveryId !== null;
      item.entry.deliveryId ??= newDeliveryId(now);
      leased.push({ ...item.entry, payload: clone(item.entry.payload), attempted });
    }
    return leased;
  }

  complete(ids: readonly number[], owner: string): void {
    for (const id of ids) if (this.rows.get(id)?.owner === owner) this.rows.delete(id);
  }

  retry(id: number, owner: string, availableAt: string, error: string): void {
    const item = this.rows.get(id);
    if (item === undefined || item.owner !== owner) return;
    item.owner = null;
    item.leasedUntil = 0;
    item.entry.attempts += 1;
    item.entry.availableAt = isoTime(availableAt);
    item.entry.lastError = error;
  }

  /**
   * Nothing was sent: each row this owner still leases is pending again,
   * without a delivery id. A problem that has a pending row already (a batch
   * came in meanwhile) keeps that one: the postponed content merges into it,
   * as the older of the two, and the row goes. Newest first, so that of
   * several postponed rows of a problem the newest becomes the pending row
   * and the older ones merge into it as older content.
   */
  postpone(ids: readonly number[], owner: string, availableAt: string): void {
    const at = isoTime(availableAt);
    for (const id of [...new Set(ids)].sort((a, b) => b - a)) {
      const item = this.rows.get(id);
      if (item === undefined || item.owner !== owner) continue;
      const key = pendingKey(item.entry);
      const into = this.rows.get(this.pending.get(key) ?? -1);
      if (into === undefined || into === item) {
        item.owner = null;
        item.leasedUntil = 0;
        item.entry.state = 'pending';
        item.entry.availableAt = at;
        item.entry.deliveryId = null;
        this.pending.set(key, id);
        continue;
      }
      into.entry.payload = mergePayloads(item.entry.payload, into.entry.payload);
      into.entry.availableAt = into.entry.availableAt > at ? into.entry.availableAt : at;
      into.entry.attempts = Math.max(into.entry.attempts, item.entry.attempts);
      into.entry.lastError ??= item.entry.lastError;
      this.rows.delete(id);
    }
  }

  count(tracker?: string): number {
    let n = 0;
    for (const item of this.rows.values()) if (tracker === undefined || item.entry.tracker === tracker) n++;
    return n;
  }
}

export function clone(value: JsonValue): JsonValue {
  return value === null || typeof value !== 'object' ? value : (JSON.parse(JSON.stringify(value)) as JsonValue);
}
