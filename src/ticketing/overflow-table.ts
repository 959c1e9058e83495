/**
 * The overflow table: what a logging call does when its writer's queue is
 * full. The call must cost no more than a normal one, so it prepares nothing
 * (no call-site resolution, no fingerprint, no redaction): it counts the
 * occurrence under a key made of what is already at hand — level, channel,
 * the raw frames of the call (or the call site a foreign record brought),
 * and a custom fingerprint. The first call of a key leaves a snapshot; the
 * next ones are only counted, and take no snapshot at all (see
 * TicketingHandler.handle). The writer later prepares one record per key
 * and folds the counts into the fold table by ticket (fold-table.ts), so
 * counts stay exact and the ticket's last sighting is the last call.
 *
 * A key is never coarser than a ticket (the same frames always make the
 * same fingerprint), only sometimes finer (one line called from two places):
 * those merge when folded. At most `maxKeys` keys are counted; an
 * occurrence of a new key past that is dropped, and counted as such.
 */

import { rawCaller, type CallSite, type StackHolder, type WrapperMatcher } from '../logging/call-site.js';
import type { Captured } from './occurrence.js';

/** What an overflow key is made of: known at the call, before any snapshot is taken. */
export type OverflowParts = Pick<Captured, 'level' | 'channel' | 'fingerprint' | 'unreadableFingerprint'> & {
  readonly site: CallSite | null;
  readonly stack: StackHolder | null;
  readonly wrappers: readonly WrapperMatcher[];
};

/**
 * A call's key: the parts that decide its ticket, in order. Looked up part by
 * part in nested maps (KeyTrie), so no key text is built and hashed per call:
 * the parts are strings V8 already holds (file names, channels) and small
 * numbers.
 */
export type OverflowKey = readonly unknown[];

const LEAF = Symbol('entry');
type Node = Map<unknown, unknown>;

/** Entries by key, part by part. */
class KeyTrie<V> {
  private root: Node = new Map();

  get(key: OverflowKey): V | undefined {
    let node: Node | undefined = this.root;
    for (const part of key) {
      node = node.get(part) as Node | undefined;
      if (node === undefined) return undefined;
    }
    return node.get(LEAF) as V | undefined;
  }

  set(key: OverflowKey, value: V): void {
    let node = this.root;
    for (const part of key) {
      let next = node.get(part) as Node | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(part, next);
      }
      node = next;
    }
    node.set(LEAF, value);
  }

  clear(): void {
    this.root = new Map();
  }
}

export interface Overflowed {
  /** A snapshot of one of the calls counted (the first, or a later one that came with a snapshot). */
  item: Captured;
  count: number;
  /** The latest time among the occurrences counted (a kept snapshot may be older). */
  lastTimestamp: number;
}

/** What a snapshot kept without its data is taken to hold. */
const SLIM_BYTES = 1024;
const NOT_KEPT = '[not kept: the queue was at its memory limit]';

export class OverflowTable {
  private readonly entries = new KeyTrie<Overflowed>();
  /** The same entries, in the order they came. */
  private list: Overflowed[] = [];
  /** Occurrences counted here. */
  count = 0;
  /** Bytes held by the snapshots kept here. */
  bytes = 0;

  constructor(private readonly maxKeys: number) {}

  /**
   * Count one occurrence; `room` is how many bytes the writer can still
   * spend. False when a new key finds the table full (the caller drops it).
   */
  add(item: Captured, room: number, key: OverflowKey = overflowKey(item)): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      if (this.list.length >= this.maxKeys) return false;
      const kept = item.size <= room ? item : slim(item);
      const added = { item: kept, count: 1, lastTimestamp: item.timestamp };
      this.entries.set(key, added);
      this.list.push(added);
      this.bytes += kept.size;
    } else {
      entry.count++;
      if (item.timestamp > entry.lastTimestamp) entry.lastTimestamp = item.timestamp;
      // The newer snapshot replaces the kept one when it fits in the room the old one leaves.
      if (item.size <= room + entry.item.size) {
        this.bytes += item.size - entry.item.size;
        entry.item = item;
      }
    }
    this.count++;
    return true;
  }

  /**
   * Count one more occurrence of a call already counted here, without a
   * snapshot: its kept record stays. False when the key is not here yet.
   */
  countKnown(key: OverflowKey, timestamp: number): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    entry.count++;
    if (timestamp > entry.lastTimestamp) entry.lastTimestamp = timestamp;
    this.count++;
    return true;
  }

  /** Take every entry out (the writer prepares and folds them). */
  takeAll(): Overflowed[] {
    const taken = this.list;
    this.list = [];
    this.entries.clear();
    this.bytes = 0;
    this.count = 0;
    return taken;
  }

  clear(): void {
    this.takeAll();
  }

  get size(): number {
    return this.list.length;
  }
}

/** The key of a call: a ticket's grouping or finer (see above). */
export function overflowKey(item: OverflowParts): OverflowKey {
  const custom =
    item.fingerprint === undefined
      ? ''
      : typeof item.fingerprint === 'string'
        ? item.fingerprint
        : item.fingerprint.join('\u0001');
  const unreadable = item.unreadableFingerprint ?? '';
  const { site } = item;
  if (site !== null) {
    return [item.level, item.channel, custom, unreadable, 'site', site.path, site.line, site.column, site.function];
  }
  const caller = item.stack === null ? null : rawCaller(item.stack, item.wrappers);
  return caller === null
    ? [item.level, item.channel, custom, unreadable, 'unknown']
    : [item.level, item.channel, custom, unreadable, 'frame', caller[0], caller[1], caller[2]];
}

/** A snapshot cut down to what identifies its occurrence. */
function slim(item: Captured): Captured {
  return { ...item, args: [], extra: NOT_KEPT, error: null, size: SLIM_BYTES };
}
