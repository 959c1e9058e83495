/**
 * Shared by the express and fastify tests: a ticketing handler on a fresh
 * SQLite file, active for the whole test process (so those tests are
 * serial), and a barrier that holds requests until all of them have arrived,
 * so that concurrent requests interleave without relying on timing.
 */

import type { ExecutionContext } from 'ava';
import { projectRoot, readStore, workdir, type StoredTicket } from './helpers.js';
import { TicketingHandler } from '../../src/index.js';

export interface Tickets {
  readonly handler: TicketingHandler;
  /** Flush the handler, then every ticket of its store with its occurrences. */
  tickets(): Promise<StoredTicket[]>;
}

/** A TicketingHandler on a SQLite file, pushed for the application until the test ends. */
export function ticketsStore(t: ExecutionContext): Tickets {
  const work = workdir(t, 'logtickets-web-');
  const handler = new TicketingHandler(work.store, { onError: () => {}, exitFlushMs: 0, appId: 'shop', projectRoot });
  handler.pushApplication();
  t.teardown(async () => {
    handler.popApplication();
    await handler.close();
  });
  return {
    handler,
    async tickets() {
      t.true(await handler.flush({ timeoutMs: 10_000 }), 'the handler flushed');
      return readStore(work.store);
    },
  };
}

/** `arrive()` resolves once it has been called `count` times. */
export function barrier(count: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return () => {
    arrived++;
    if (arrived === count) open();
    return opened;
  };
}

/** Every occurrence of the tickets, with its ticket's title. */
export function occurrences(tickets: readonly StoredTicket[]) {
  return tickets.flatMap((ticket) => ticket.occurrences.map((o) => ({ title: ticket.title, data: o.data })));
}

/** The query strings the tests send: none of them may be stored anywhere. */
export const QUERY_SECRET = 'q-secret-4217';
export const COOKIE_SECRET = 'cookie-secret-9031';
export const BEARER_SECRET = 'bearer-secret-5570';

/** Headers a browser might send, cookies and credentials included. */
export function browserHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'user-agent': 'test-agent/1.0',
    accept: 'application/json',
    cookie: `sid=${COOKIE_SECRET}`,
    authorization: `Bearer ${BEARER_SECRET}`,
    referer: `http://user:pw@shop.example/cart?coupon=${QUERY_SECRET}#top`,
    ...extra,
  };
}

/** True when none of the secrets the tests send was stored. */
export function noSecrets(t: ExecutionContext, tickets: readonly StoredTicket[]): void {
  const stored = JSON.stringify(tickets);
  for (const secret of [QUERY_SECRET, COOKIE_SECRET, BEARER_SECRET, 'user:pw'])
    t.false(stored.includes(secret), secret);
}

/**
 * Send `count` concurrent POST /jobs/:id requests (each with its own id,
 * x-request-id and x-user, and a query string that must never be stored),
 * expect each to fail with 500, and check that every occurrence carries
 * exactly its own request and its own three breadcrumbs.
 */
export async function sendConcurrentJobs(
  t: ExecutionContext,
  base: string,
  store: Tickets,
  count: number,
  crumbsOf: (data: any) => string[],
): Promise<void> {
  const ids = Array.from({ length: count }, (_, i) => `job-${i}`);
  const responses = await Promise.all(
    ids.map((id) =>
      fetch(`${base}/jobs/${id}?attempt=${QUERY_SECRET}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': id, 'x-user': `user-${id}` },
        body: JSON.stringify({ id }),
      }),
    ),
  );
  t.deepEqual(
    responses.map((r) => r.status),
    ids.map(() => 500),
  );
  const tickets = await store.tickets();
  t.is(tickets.length, 1, 'one throw site, one ticket');
  const found = occurrences(tickets);
  t.is(found.length, count);
  const seen = new Set<string>();
  for (const { data } of found) {
    const id = data.request.headers['x-request-id'] as string;
    seen.add(id);
    t.deepEqual(data.request, {
      method: 'POST',
      route: '/jobs/:id',
      path: `/jobs/${id}`,
      status: 500,
      userId: `user-${id}`,
      headers: { 'x-request-id': id },
    });
    t.deepEqual(crumbsOf(data), [`request ${id}: received`, `request ${id}: working`, `request ${id}: failing`]);
  }
  t.deepEqual([...seen].sort(), [...ids].sort());
  noSecrets(t, tickets);
}
