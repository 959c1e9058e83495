/**
 * `logtickets report --out FILE`: the dashboard's views as one HTML file to
 * attach to a post-mortem or a CI run. The page script, its styles and the
 * API's answers for one set of filters are inside the file; its own
 * Content-Security-Policy allows only that script and style (by hash) and no
 * request at all, so it opens offline and never calls home.
 *
 * The period is fixed when the report is made (a named period becomes its
 * window then). Embedded: the overview, the list (up to `maxTickets`), and
 * for each listed ticket and each top problem its page, histogram and first
 * `occurrencePages` pages of occurrences.
 */

import { createHash } from 'node:crypto';
import { LogticketsError } from '../errors.js';
import { staticKey } from './api-key.js';
import { DashboardApi, type DashboardSource } from './api.js';
import { webAssets } from './assets.js';
import { MAX_PAGE } from './api-params.js';
import { periodOf } from './period.js';

export interface ReportOptions extends DashboardSource {
  /** The filters and period, as the dashboard's URL parameters (state, level, app, q, period, from, to, sort…). */
  readonly params?: URLSearchParams;
  /** Tickets listed and given a page (default 100). */
  readonly maxTickets?: number;
  /** Pages of 20 occurrences per ticket (default 2). */
  readonly occurrencePages?: number;
}

export async function buildReport(options: ReportOptions): Promise<string> {
  const now = (options.now ?? Date.now)();
  const asked = new URLSearchParams(options.params);
  const period = periodOf(asked, now);
  // The window is fixed now: the file shows the same whatever day it is opened.
  const params = new URLSearchParams(asked);
  params.delete('period');
  params.delete('offset');
  params.delete('limit');
  params.set('from', period.from);
  params.set('to', period.to);
  const api = new DashboardApi({ ...options, now: () => now });
  const answers: Record<string, unknown> = {};
  const put = (path: string, offset: number, answer: unknown) => {
    answers[staticKey(path, new URLSearchParams(offset === 0 ? '' : `offset=${offset}`))] = answer;
  };

  const overview = await api.overview(params);
  put('/api/overview', 0, overview);
  const maxTickets = options.maxTickets ?? 100;
  const ids = new Set<number>(overview.top.map((t) => t.ticket.id));
  for (let offset = 0; offset < maxTickets; offset += MAX_PAGE) {
    // The page shows 50 per page; the report fetches bigger pages and cuts them.
    const page = await api.tickets(
      withParams(params, { offset: String(offset), limit: String(Math.min(MAX_PAGE, maxTickets - offset)) }),
    );
    for (let start = 0; start < page.tickets.length; start += 50) {
      const tickets = page.tickets.slice(start, start + 50);
      put('/api/tickets', offset + start, {
        ...page,
        limit: 50,
        offset: offset + start,
        tickets,
        total: Math.min(page.total, maxTickets),
      });
    }
    for (const t of page.tickets) ids.add(t.id);
    if (page.tickets.length === 0) put('/api/tickets', offset, { ...page, limit: 50 });
    if (offset + page.tickets.length >= page.total) break;
  }
  const periodOnly = new URLSearchParams({ from: period.from, to: period.to, bucket: period.bucket });
  for (const id of ids) {
    put(`/api/tickets/${id}`, 0, await api.ticket(id, periodOnly));
    put(`/api/tickets/${id}/histogram`, 0, await api.histogram(id, periodOnly));
    for (let page = 0; page < (options.occurrencePages ?? 2); page++) {
      const answer = await api.occurrences(id, new URLSearchParams({ offset: String(page * 20) }));
      put(`/api/tickets/${id}/occurrences`, page * 20, answer);
      if (!answer.hasMore) break;
    }
  }
  const shown = new URLSearchParams(asked);
  shown.delete('offset');
  shown.delete('limit');
  return page({ madeAt: new Date(now).toISOString(), params: shown.toString(), answers });
}

function withParams(base: URLSearchParams, extra: Record<string, string>): URLSearchParams {
  const out = new URLSearchParams(base);
  for (const [k, v] of Object.entries(extra)) out.set(k, v);
  return out;
}

/** JSON that cannot end its script element or open a comment: every `<` is escaped, and the line separators too. */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function hash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

function page(embedded: unknown): string {
  const { script, style } = webAssets();
  if (/<\/script|<!--/i.test(script) || /<\/style/i.test(style)) {
    throw new LogticketsError(
      'NOT_SUPPORTED',
      'the page script cannot be inlined (it contains a closing tag): rebuild it',
    );
  }
  const csp = [
    "default-src 'none'",
    `script-src ${hash(script)}`,
    `style-src ${hash(style)}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>logtickets report</title>
<style>${style}</style></head>
<body><div id="app"></div>
<script type="application/json" id="logtickets-data">${scriptSafeJson(embedded)}</script>
<script>${script}</script></body></html>
`;
}
