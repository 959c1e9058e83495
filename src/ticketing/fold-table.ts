/**
 * The fold table: where occurrences go when a writer's queue is full.
 *
 * It keeps one entry per ticket with an exact count of the occurrences it
 * stands for and the latest of their records, so a flood costs memory per
 * problem, not per occurrence. A record that would push the writer past its
 * memory bound is kept as a short summary instead (the count stays exact).
 * Entries leave the table while they are written, and come back (merged with
 * any folded since) when that write fails.
 */

import type { OccurrenceInput } from '../backends/contract.js';
import { ticketKey } from '../backends/batch.js';
import type { JsonValue } from '../logging/json-safe.js';

export interface Folded {
  occurrence: OccurrenceInput;
  count: number;
  /** Roughly how many bytes its occurrence holds. */
  bytes: number;
}

/** What a summarised record is taken to hold. */
const SLIM_BYTES = 1024;

export class FoldTable {
  private readonly entries = new Map<string, Folded>();
  /** Occurrences the entries in the table and those being written stand for. */
  count = 0;
  /** Bytes held by the records of the entries in the table. */
  bytes = 0;

  constructor(private readonly maxEntries: number) {}

  /**
   * Fold `count` occurrences of one ticket, `occurrence` the latest record.
   * `room` is how many bytes the writer can still spend; returns false when
   * a new ticket finds the table full (the caller counts them as dropped).
   */
  add(occurrence: OccurrenceInput, size: number, room: number, count = 1): boolean {
    const key = ticketKey(occurrence.appId, occurrence.hash);
    const entry = this.entries.get(key);
    if (entry === undefined && this.entries.size >= this.maxEntries) return false;
    const whole = size <= room + (entry?.bytes ?? 0);
    const kept = whole ? occurrence : slim(occurrence);
    const bytes = whole ? size : SLIM_BYTES;
    if (entry !== undefined) {
      this.bytes += bytes - entry.bytes;
      entry.occurrence = kept;
      entry.bytes = bytes;
      entry.count += count;
    } else {
      this.entries.set(key, { occurrence: kept, count, bytes });
      this.bytes += bytes;
    }
    this.count += count;
    return true;
  }

  /** Take up to `limit` entries out of the table to be written. */
  take(limit: number): Folded[] {
    const taken: Folded[] = [];
    for (const [key, entry] of this.entries) {
      if (taken.length >= limit) break;
      this.entries.delete(key);
      this.bytes -= entry.bytes;
      taken.push(entry);
    }
    return taken;
  }

  /** Put entries whose write failed back, merging with any folded since. */
  putBack(taken: readonly Folded[]): void {
    for (const entry of taken) {
      const key = ticketKey(entry.occurrence.appId, entry.occurrence.hash);
      const now = this.entries.get(key);
      if (now === undefined) {
        this.entries.set(key, entry);
        this.bytes += entry.bytes;
      } else {
        now.count += entry.count;
      }
    }
  }

  /** Entries taken out were written (or given up). */
  settled(taken: readonly Folded[]): number {
    let n = 0;
    for (const entry of taken) n += entry.count;
    this.count -= n;
    return n;
  }

  /** Empty the table; `keep` is what entries being written still stand for. */
  clear(keep: number): void {
    this.entries.clear();
    this.bytes = 0;
    this.count = keep;
  }
}

/** An occurrence with its record cut down to what identifies it. */
function slim(occurrence: OccurrenceInput): OccurrenceInput {
  const data = occurrence.data as Record<string, JsonValue>;
  const message = typeof data.message === 'string' ? data.message.slice(0, 256) : null;
  const keep: Record<string, JsonValue> = {
    message,
    truncated: 'record not kept whole: the queue was at its memory limit',
  };
  for (const key of ['channel', 'level', 'levelName', 'time', 'location', 'process', 'appId']) {
    if (data[key] !== undefined) keep[key] = data[key];
  }
  return { ...occurrence, data: keep };
}
