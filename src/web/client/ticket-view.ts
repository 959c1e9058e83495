/**
 * A ticket's page: its facts, a histogram of its occurrences over the period
 * with its history marked (solved, regressed, reopened, muted), its distinct
 * messages, the latest record in full, its occurrences page by page, and
 * links to its tickets in the trackers.
 */

import { histogram, type BucketCount, type Mark } from './charts.js';
import { h } from './dom.js';
import { count, utc } from './format.js';
import { periodText, type PeriodView } from './filters.js';
import { periodParams } from './list-view.js';
import { recordSections } from './record-view.js';
import { link, load, post, staticReport, writable } from './source.js';
import type { OccurrenceView, TicketView } from './types.js';

interface TicketAnswer {
  readonly period: PeriodView;
  readonly ticket: TicketView;
  readonly messages: ReadonlyArray<{ message: string; count: number }>;
  readonly events: readonly Mark[];
  readonly latest: OccurrenceView | null;
  readonly links: ReadonlyArray<{ label: string; externalId: string; url: string | null; state: string | null }>;
}

interface HistogramAnswer {
  readonly period: PeriodView;
  readonly buckets: readonly BucketCount[];
  readonly events: readonly Mark[];
}

interface OccurrencesAnswer {
  readonly offset: number;
  readonly limit: number;
  readonly hasMore: boolean;
  readonly occurrences: readonly OccurrenceView[];
}

export async function ticketView(id: number, params: URLSearchParams): Promise<HTMLElement> {
  const period = periodParams(params);
  const occurrenceParams = new URLSearchParams();
  const occ = params.get('occ');
  if (occ !== null && occ !== '' && occ !== '0') occurrenceParams.set('offset', occ);
  const [answer, hist, occurrences] = await Promise.all([
    load<TicketAnswer>(`/api/tickets/${id}`, period),
    load<HistogramAnswer>(`/api/tickets/${id}/histogram`, period),
    load<OccurrencesAnswer>(`/api/tickets/${id}/occurrences`, occurrenceParams),
  ]);
  const t = answer.ticket;
  return h(
    'article',
    { class: 'view ticket', 'aria-labelledby': 'ticket-title', 'data-ticket': t.id },
    h('p', { class: 'crumbs' }, h('a', { href: link('/tickets', period) }, '← Tickets')),
    h('h1', { id: 'ticket-title' }, t.title),
    h(
      'p',
      { class: 'badges' },
      h('span', { class: `state state-${t.state}` }, t.state),
      ' ',
      h('span', { class: `level level-${t.levelName.toLowerCase()}` }, t.levelName),
      ` #${t.id}`,
    ),
    writable() ? stateButtons(t) : null,
    facts(t),
    h('h2', {}, 'Occurrences over time'),
    periodLinks(id, params, hist.period),
    histogram(
      hist.buckets,
      hist.period.bucket,
      hist.events,
      `Occurrences per ${hist.period.bucket} ${periodText(hist.period)}`,
    ),
    answer.links.length === 0 ? null : trackerLinks(answer.links),
    h('h2', {}, 'Messages'),
    t.occurrenceCount > 10_000 ? h('p', { class: 'sub' }, 'Counted among its newest 10,000 occurrences.') : null,
    messages(answer.messages),
    h('h2', {}, 'Latest occurrence'),
    answer.latest === null
      ? h('p', { class: 'empty' }, 'The store keeps no occurrence of this ticket.')
      : h('div', { class: 'latest' }, ...recordSections(answer.latest)),
    h('h2', {}, 'All occurrences'),
    occurrenceList(id, params, occurrences),
  );
}

function facts(t: TicketView): HTMLElement {
  const items: Array<readonly [string, string]> = [
    ['App', t.appId],
    ['Channel', t.channel],
    ['Location', t.location],
    ['Function', t.function ?? '—'],
    ['Occurrences', count(t.occurrenceCount)],
    ['First seen', utc(t.firstSeen)],
    ['Last seen', utc(t.lastSeen)],
    ['Regressions', t.regressionCount === 0 ? 'none' : `${count(t.regressionCount)}, last ${utc(t.lastRegressionAt)}`],
    ['First release', t.firstRelease ?? '—'],
    ['Last release', t.lastRelease ?? '—'],
    ['Environments', t.environments.length === 0 ? '—' : t.environments.join(', ')],
  ];
  if (t.solvedAt !== null)
    items.push(['Solved', `${utc(t.solvedAt)}${t.solvedInRelease === null ? '' : ` in release ${t.solvedInRelease}`}`]);
  if (t.mutedAt !== null) items.push(['Muted', utc(t.mutedAt)]);
  return h('dl', { class: 'facts' }, ...items.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function periodLinks(id: number, params: URLSearchParams, current: PeriodView): HTMLElement | null {
  if (staticReport() !== null) return h('p', { class: 'period' }, `${periodText(current)}, per ${current.bucket}`);
  const choices: Array<readonly [string, string]> = [
    ['24h', '24 hours'],
    ['7d', '7 days'],
    ['30d', '30 days'],
  ];
  return h(
    'nav',
    { class: 'period', 'aria-label': 'period' },
    ...choices.map(([name, label]) => {
      const next = new URLSearchParams(params);
      next.set('period', name);
      next.delete('from');
      next.delete('to');
      next.delete('occ');
      return name === current.name
        ? h('strong', { 'aria-current': 'true' }, label)
        : h('a', { href: link(`/tickets/${id}`, next) }, label);
    }),
    h('span', { class: 'sub' }, ` ${periodText(current)}, per ${current.bucket}`),
  );
}

function trackerLinks(links: TicketAnswer['links']): HTMLElement {
  return h(
    'ul',
    { class: 'tracker-links', 'aria-label': 'in the trackers' },
    ...links.map((l) =>
      h(
        'li',
        {},
        l.url === null ? `${l.label} #${l.externalId}` : h('a', { href: l.url }, `${l.label} #${l.externalId}`),
        l.state === null ? '' : ` (${l.state})`,
      ),
    ),
  );
}

function messages(list: TicketAnswer['messages']): HTMLElement {
  if (list.length === 0) return h('p', { class: 'empty' }, 'No message kept.');
  return h(
    'table',
    { class: 'messages' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Message'), h('th', { scope: 'col' }, 'Occurrences'))),
    h(
      'tbody',
      {},
      ...list.map((m) =>
        h('tr', {}, h('td', { class: 'message' }, m.message), h('td', { class: 'num' }, count(m.count))),
      ),
    ),
  );
}

function occurrenceList(id: number, params: URLSearchParams, answer: OccurrencesAnswer): HTMLElement {
  const to = (offset: number) => {
    const next = new URLSearchParams(params);
    if (offset === 0) next.delete('occ');
    else next.set('occ', String(offset));
    return link(`/tickets/${id}`, next);
  };
  const first = answer.offset + 1;
  return h(
    'section',
    { class: 'occurrences', 'aria-label': 'occurrences' },
    h(
      'p',
      { class: 'summary' },
      answer.occurrences.length === 0
        ? 'No occurrence on this page.'
        : `Newest first, ${count(first)}–${count(answer.offset + answer.occurrences.length)}`,
    ),
    h(
      'ol',
      { class: 'occurrence-list', start: first },
      ...answer.occurrences.map((o) =>
        h(
          'li',
          { 'data-occurrence': o.id },
          h(
            'details',
            {},
            h(
              'summary',
              {},
              `${utc(o.time)}${o.release === null ? '' : ` · ${o.release}`}${o.environment === null ? '' : ` · ${o.environment}`} · ${messageOf(o)}`,
            ),
            ...recordSections(o),
          ),
        ),
      ),
    ),
    h(
      'nav',
      { class: 'pager', 'aria-label': 'occurrence pages' },
      answer.offset > 0
        ? h('a', { href: to(Math.max(0, answer.offset - answer.limit)), class: 'prev' }, '← Newer')
        : null,
      answer.hasMore ? h('a', { href: to(answer.offset + answer.limit), class: 'next' }, 'Older →') : null,
    ),
  );
}

function messageOf(o: OccurrenceView): string {
  const data = o.data;
  const message = data !== null && typeof data === 'object' && !Array.isArray(data) ? data.message : undefined;
  const text = typeof message === 'string' ? message : '(no message)';
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function stateButtons(t: TicketView): HTMLElement {
  const button = (state: string, label: string) => h('button', { type: 'button', 'data-state': state }, label);
  const bar = h(
    'div',
    { class: 'actions', role: 'group', 'aria-label': 'change the state' },
    t.state === 'solved' ? null : button('solved', 'Solve'),
    t.state === 'open' ? null : button('open', t.state === 'muted' ? 'Unmute' : 'Reopen'),
    t.state === 'muted' ? null : button('muted', 'Mute'),
    h('span', { class: 'action-status', role: 'status' }),
  );
  bar.addEventListener('click', (event) => {
    const target = (event.target as Element).closest('button');
    const state = target?.getAttribute('data-state');
    if (state === null || state === undefined) return;
    const status = bar.querySelector('.action-status')!;
    status.textContent = 'saving…';
    post(`/api/tickets/${t.id}/state`, { state }).then(
      () => location.reload(),
      (error: Error) => {
        status.textContent = error.message;
      },
    );
  });
  return bar;
}
