/**
 * The in-memory store's links: which external ticket each (tracker, app id,
 * fingerprint) has, who holds the claim to create it, when it was last
 * commented on, and the state its ticket was last known to have in the
 * tracker. Every method runs to its end without awaiting, so each is atomic
 * here.
 */

import type { Link, LinkClaim, LinkKey } from '../contract.js';
import type { SettableState } from '../ticket-state.js';

type Row = { -readonly [K in keyof Link]: Link[K] } & { lastCommentAt?: number };

export class MemoryLinks {
  private readonly rows = new Map<string, Row>();

  constructor(private readonly now: () => Date) {}

  get(key: LinkKey): Link | null {
    const row = this.rows.get(rowKey(key));
    return row === undefined ? null : linkOf(row);
  }

  claim(key: LinkKey, owner: string, leaseMs: number): LinkClaim {
    const now = this.now().getTime();
    const row = this.rows.get(rowKey(key));
    if (row?.externalId != null) return { state: 'linked', externalId: row.externalId };
    if (row !== undefined && row.owner !== owner && row.claimedUntil !== null && Date.parse(row.claimedUntil) > now) {
      return { state: 'pending', owner: row.owner ?? '', claimedUntil: row.claimedUntil };
    }
    const claimedUntil = new Date(now + leaseMs).toISOString();
    if (row === undefined) {
      this.rows.set(rowKey(key), { ...key, externalId: null, owner, claimedUntil, state: null, stateAt: null });
    } else {
      row.owner = owner;
      row.claimedUntil = claimedUntil;
    }
    return { state: 'claimed' };
  }

  complete(key: LinkKey, owner: string, externalId: string): boolean {
    const row = this.rows.get(rowKey(key));
    if (row === undefined || row.owner !== owner || row.externalId !== null) return false;
    row.externalId = externalId;
    row.owner = null;
    row.claimedUntil = null;
    return true;
  }

  release(key: LinkKey, owner: string): void {
    const k = rowKey(key);
    const row = this.rows.get(k);
    if (row !== undefined && row.owner === owner && row.externalId === null) this.rows.delete(k);
  }

  set(key: LinkKey, externalId: string): void {
    const row = this.rows.get(rowKey(key));
    if (row === undefined) {
      this.rows.set(rowKey(key), { ...key, externalId, owner: null, claimedUntil: null, state: null, stateAt: null });
      return;
    }
    // The state the tracker's ticket was known to be in stays.
    row.externalId = externalId;
    row.owner = null;
    row.claimedUntil = null;
  }

  commentSlot(key: LinkKey, intervalMs: number): { granted: true } | { granted: false; nextAt: string } {
    const row = this.rows.get(rowKey(key));
    const now = this.now().getTime();
    if (row === undefined) return { granted: true };
    if (row.lastCommentAt !== undefined && now - row.lastCommentAt < intervalMs) {
      return { granted: false, nextAt: new Date(row.lastCommentAt + intervalMs).toISOString() };
    }
    row.lastCommentAt = now;
    return { granted: true };
  }

  delete(key: LinkKey): void {
    this.rows.delete(rowKey(key));
  }

  /** Only a finished link (one with an external id) takes a state. */
  setState(key: LinkKey, state: SettableState, at: string): void {
    const row = this.rows.get(rowKey(key));
    if (row === undefined || row.externalId === null) return;
    row.state = state;
    row.stateAt = at;
  }

  ofProblem(appId: string, hash: string): Link[] {
    const found: Link[] = [];
    for (const row of this.rows.values()) {
      if (row.appId === appId && row.hash === hash && row.externalId !== null) found.push(linkOf(row));
    }
    return found.sort((a, b) => (a.tracker < b.tracker ? -1 : 1));
  }

  byExternalId(tracker: string, externalIds: readonly string[]): Link[] {
    const wanted = new Set(externalIds);
    const found: Link[] = [];
    for (const row of this.rows.values()) {
      if (row.tracker === tracker && row.externalId !== null && wanted.has(row.externalId)) found.push(linkOf(row));
    }
    return found;
  }
}

function linkOf(row: Row): Link {
  return {
    hash: row.hash,
    appId: row.appId,
    tracker: row.tracker,
    externalId: row.externalId,
    owner: row.owner,
    claimedUntil: row.claimedUntil,
    state: row.state,
    stateAt: row.stateAt,
  };
}

function rowKey(key: LinkKey): string {
  return `${key.tracker}\u0000${key.appId}\u0000${key.hash}`;
}
