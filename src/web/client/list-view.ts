/** The ticket list: filters in the URL, a sparkline per ticket over the period, sortable columns, stable paging. */

import { sparkline } from './charts.js';
import { h } from './dom.js';
import { ago, count, plural, utc } from './format.js';
import { filterForm, periodText, type PeriodView } from './filters.js';
import { link, load, staticReport } from './source.js';
import type { TicketView } from './types.js';

interface ListAnswer {
  readonly period: PeriodView;
  readonly total: number;
  readonly limit: number;
  readonly offset: number;
  readonly sort: string;
  readonly tickets: ReadonlyArray<TicketView & { spark: number[]; periodCount: number }>;
}

const COLUMNS: ReadonlyArray<readonly [string, string | null]> = [
  ['State', null],
  ['Level', 'level'],
  ['Problem', null],
  ['Count', 'occurrenceCount'],
  ['In period', null],
  ['First seen', 'firstSeen'],
  ['Last seen', 'lastSeen'],
  ['Channel', null],
  ['Location', null],
];

export async function listView(params: URLSearchParams): Promise<HTMLElement> {
  const answer = await load<ListAnswer>('/api/tickets', params);
  const { total, offset, tickets } = answer;
  const shown = tickets.length === 0 ? 'none' : `${count(offset + 1)}–${count(offset + tickets.length)}`;
  return h(
    'section',
    { class: 'view', 'aria-labelledby': 'list-title' },
    h('h1', { id: 'list-title' }, 'Tickets'),
    filterForm('/tickets', params),
    h(
      'p',
      { class: 'summary', role: 'status' },
      `${plural(total, 'ticket')} seen ${periodText(answer.period)} · showing ${shown}`,
    ),
    tickets.length === 0
      ? h('p', { class: 'empty' }, 'No ticket matches these filters in this period.')
      : h(
          'table',
          { class: 'tickets' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...COLUMNS.map(([label, field]) =>
                h(
                  'th',
                  { scope: 'col' },
                  field === null || staticReport() !== null ? label : sortLink(label, field, answer.sort, params),
                ),
              ),
            ),
          ),
          h('tbody', {}, ...tickets.map((t) => row(t, params))),
        ),
    pager(params, offset, answer.limit, tickets.length, total),
  );
}

function row(t: ListAnswer['tickets'][number], params: URLSearchParams): HTMLElement {
  const label = `${plural(t.periodCount, 'occurrence')} ${periodWord(params)}`;
  return h(
    'tr',
    { 'data-ticket': t.id },
    h('td', {}, h('span', { class: `state state-${t.state}` }, t.state)),
    h('td', {}, h('span', { class: `level level-${t.levelName.toLowerCase()}` }, t.levelName)),
    h(
      'td',
      { class: 'title' },
      h('a', { href: link(`/tickets/${t.id}`, periodParams(params)) }, t.title),
      h('div', { class: 'sub' }, `#${t.id} · ${t.appId}`),
    ),
    h('td', { class: 'num' }, count(t.occurrenceCount)),
    h(
      'td',
      { class: 'spark-cell' },
      sparkline(t.spark, label),
      h('span', { class: 'num period-count' }, count(t.periodCount)),
    ),
    h('td', {}, h('time', { datetime: t.firstSeen, title: utc(t.firstSeen) }, ago(t.firstSeen))),
    h('td', {}, h('time', { datetime: t.lastSeen, title: utc(t.lastSeen) }, ago(t.lastSeen))),
    h('td', { class: 'channel' }, t.channel),
    h('td', { class: 'location' }, t.location),
  );
}

function periodWord(params: URLSearchParams): string {
  const name = params.get('period');
  return name === '24h'
    ? 'in the last 24 hours'
    : name === '30d'
      ? 'in the last 30 days'
      : name === 'custom'
        ? 'in the period'
        : 'in the last 7 days';
}

/** The period parameters a ticket page keeps from the list. */
export function periodParams(params: URLSearchParams): URLSearchParams {
  const kept = new URLSearchParams();
  for (const name of ['period', 'from', 'to']) {
    const value = params.get(name);
    if (value !== null && value !== '') kept.set(name, value);
  }
  return kept;
}

function sortLink(label: string, field: string, current: string, params: URLSearchParams): HTMLElement {
  const descending = current === `-${field}`;
  const ascending = current === field;
  const next = new URLSearchParams(params);
  next.set('sort', descending ? field : `-${field}`);
  next.delete('offset');
  const arrow = descending ? ' ↓' : ascending ? ' ↑' : '';
  return h(
    'a',
    { href: link('/tickets', next), 'aria-sort': descending ? 'descending' : ascending ? 'ascending' : undefined },
    `${label}${arrow}`,
  );
}

function pager(params: URLSearchParams, offset: number, limit: number, shown: number, total: number): HTMLElement {
  const to = (value: number) => {
    const next = new URLSearchParams(params);
    if (value === 0) next.delete('offset');
    else next.set('offset', String(value));
    return link('/tickets', next);
  };
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'pages' },
    offset > 0 ? h('a', { href: to(Math.max(0, offset - limit)), class: 'prev' }, '← Newer page') : null,
    offset + shown < total ? h('a', { href: to(offset + limit), class: 'next' }, 'Next page →') : null,
  );
}
