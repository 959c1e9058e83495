/**
 * Small helpers of the delivery loop: leased outbox entries grouped by
 * problem (one delivery each), handing leased entries back unsent, a wait
 * that a shutdown can cut short, a wait for a turn that gives up at a
 * deadline, and a tracker call no longer waited for once aborted.
 */

import type { LinkKey, OutboxEntry, OutboxStore } from '../contract.js';

export function groupByProblem(tracker: string, entries: readonly OutboxEntry[]): Array<[LinkKey, OutboxEntry[]]> {
  const byKey = new Map<string, [LinkKey, OutboxEntry[]]>();
  for (const entry of entries) {
    const k = `${entry.appId}\u0000${entry.hash}`;
    let group = byKey.get(k);
    if (group === undefined) {
      group = [{ tracker, appId: entry.appId, hash: entry.hash }, []];
      byKey.set(k, group);
    }
    group[1].push(entry);
  }
  return [...byKey.values()];
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const timer = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Wait for `promise` until `deadline` (ms since epoch): true when it settled in time. Never rejects. */
export async function before(promise: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// How long a tracker call that ignores its abort signal is still waited for once aborted.
const ABANDON_AFTER_MS = 200;

/** A call given up on: it still ran `graceMs` after its requests were aborted (see `unlessAbandoned`). */
export class Abandoned extends Error {
  constructor(graceMs: number) {
    super(`a tracker call still ran ${graceMs} ms after it was aborted: no longer waited for`);
    this.name = 'Abandoned';
  }
}

/**
 * `call`'s result, unless `signal` aborts and the call has not settled
 * `graceMs` later (a tracker request that ignores its abort signal): then
 * rejects with Abandoned, and the call runs on unobserved. So a turn whose
 * requests were cut ends soon, and a close can wait for it to hand its
 * entries back.
 */
export function unlessAbandoned<T>(call: Promise<T>, signal: AbortSignal, graceMs = ABANDON_AFTER_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const abandon = () => {
      timer = setTimeout(() => reject(new Abandoned(graceMs)), graceMs);
    };
    if (signal.aborted) abandon();
    else signal.addEventListener('abort', abandon, { once: true });
    void call.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener('abort', abandon);
    });
  });
}

/**
 * Give leased entries back to the outbox, due at `at`, without having sent
 * them now. An entry an earlier attempt may have sent keeps its delivery id
 * (retried: it is looked for before the next write); the others go back to
 * pending and merge, so handing back adds no rows.
 */
export async function handBack(
  store: OutboxStore,
  owner: string,
  entries: readonly OutboxEntry[],
  at: string,
  why: string,
): Promise<void> {
  await store.postponeOutbox(
    entries.filter((e) => !e.attempted).map((e) => e.id),
    owner,
    at,
  );
  await Promise.all(entries.filter((e) => e.attempted).map((e) => store.retryOutbox(e.id, owner, at, why)));
}

/**
 * A problem's entries to deliver now. When some may have been sent by an
 * earlier attempt, only those go (their ids are looked for first); entries
 * that came since wait, merged in the problem's pending row, for the next
 * delivery. So a tracker failing again and again keeps at most one group of
 * retried rows and one pending row per problem, never a row per attempt.
 */
export function retriesFirst(group: readonly OutboxEntry[]): {
  readonly now: readonly OutboxEntry[];
  readonly later: readonly OutboxEntry[];
} {
  const retried = group.filter((e) => e.attempted);
  if (retried.length === 0 || retried.length === group.length) return { now: group, later: [] };
  return { now: retried, later: group.filter((e) => !e.attempted) };
}
