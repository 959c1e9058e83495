/** What the analytics cases (analytics-cases.ts, analytics-history-cases.ts) share: their subject and helpers. */

import { randomBytes } from 'node:crypto';
import { isAnalytics, type TicketAnalytics } from '../../src/backends/analytics.js';
import type { OccurrenceInput, TicketBackend } from '../../src/index.js';

/** What these cases need of the suite's subject (backend-suite.ts gives more). */
export interface AnalyticsSubject {
  readonly child?: { readonly uri: string; readonly prefix?: string };
}

export type WithAnalyticsSubject = (
  fn: (s: AnalyticsSubject, b: TicketBackend) => Promise<void>,
) => (t: { teardown(fn: () => Promise<void> | void): void }) => Promise<void>;

export type AnalyticsStore = TicketBackend & TicketAnalytics;

export const hash = (): string => randomBytes(20).toString('hex');

/** An ISO time on 2025-03-01 (UTC) from `hh:mm:ss.mmm`, or a whole ISO time as given. */
export const T = (time: string): string => (time.includes('T') ? time : `2025-03-01T${time}Z`);

export const occurrence = (h: string, time: string, over: Partial<OccurrenceInput> = {}): OccurrenceInput => ({
  hash: h,
  appId: 'app',
  level: 14,
  channel: 'shop.payments',
  location: 'src/pay.ts:42',
  function: 'charge',
  title: 'card declined',
  time: T(time),
  data: { message: 'card declined' },
  ...over,
});

/** The backend as a store with analytics (every store has them). */
export function analytics(t: { true(value: boolean, message?: string): void }, b: TicketBackend): AnalyticsStore {
  t.true(isAnalytics(b), `${b.name} implements TicketAnalytics`);
  return b as AnalyticsStore;
}

/** Record each entry in a batch of its own, in order: ids then follow the order of first sightings. */
export async function recordEach(b: TicketBackend, entries: readonly OccurrenceInput[]): Promise<number[]> {
  const ids: number[] = [];
  for (const entry of entries) ids.push((await b.recordBatch([entry]))[0]!.ticketId);
  return ids;
}

/** The id of the ticket of a fingerprint. */
export async function idOf(b: TicketBackend, h: string): Promise<number> {
  const [ticket] = await b.getTickets({ filter: { hash: h } });
  if (ticket === undefined) throw new Error(`no ticket of ${h}`);
  return ticket.id;
}
