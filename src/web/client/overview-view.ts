/** The overview: occurrences and new problems per bucket over the period, and the period's top problems. */

import { histogram, type BucketCount } from './charts.js';
import { h } from './dom.js';
import { count, plural } from './format.js';
import { filterForm, periodText, type PeriodView } from './filters.js';
import { periodParams } from './list-view.js';
import { link, load } from './source.js';
import type { TicketView } from './types.js';

interface OverviewAnswer {
  readonly period: PeriodView;
  readonly occurrences: readonly BucketCount[];
  readonly newTickets: readonly BucketCount[];
  readonly totals: { readonly occurrences: number; readonly newTickets: number };
  readonly top: ReadonlyArray<{ count: number; ticket: TicketView }>;
}

export async function overviewView(params: URLSearchParams): Promise<HTMLElement> {
  const answer = await load<OverviewAnswer>('/api/overview', params);
  const { period, totals } = answer;
  const toTicket = periodParams(params);
  return h(
    'section',
    { class: 'view', 'aria-labelledby': 'overview-title' },
    h('h1', { id: 'overview-title' }, 'Overview'),
    filterForm('/', params),
    h(
      'p',
      { class: 'summary', role: 'status' },
      `${plural(totals.occurrences, 'occurrence')} and ${plural(totals.newTickets, 'new ticket')} ${periodText(period)}`,
    ),
    h('h2', {}, `Occurrences per ${period.bucket}`),
    histogram(answer.occurrences, period.bucket, [], `Occurrences per ${period.bucket}`),
    h('h2', {}, `New tickets per ${period.bucket}`),
    histogram(answer.newTickets, period.bucket, [], `New tickets per ${period.bucket}`),
    h('h2', {}, 'Top problems of the period'),
    answer.top.length === 0
      ? h('p', { class: 'empty' }, 'No occurrence in this period.')
      : h(
          'table',
          { class: 'top' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Occurrences in period', 'State', 'Level', 'Problem', 'Location'].map((t) =>
                h('th', { scope: 'col' }, t),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            ...answer.top.map(({ count: n, ticket: t }) =>
              h(
                'tr',
                { 'data-ticket': t.id },
                h('td', { class: 'num' }, count(n)),
                h('td', {}, h('span', { class: `state state-${t.state}` }, t.state)),
                h('td', {}, h('span', { class: `level level-${t.levelName.toLowerCase()}` }, t.levelName)),
                h('td', { class: 'title' }, h('a', { href: link(`/tickets/${t.id}`, toTicket) }, t.title)),
                h('td', { class: 'location' }, t.location),
              ),
            ),
          ),
        ),
  );
}
