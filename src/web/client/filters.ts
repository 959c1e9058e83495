/**
 * The filter form. It is a plain GET form whose fields are the API's own
 * parameters, so applying it gives a URL that shows the same view to anyone
 * it is shared with. A static report shows the filters it was made with.
 */

import { h } from './dom.js';
import { utc } from './format.js';
import { staticReport } from './source.js';

export interface PeriodView {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly bucket: string;
}

export function periodText(period: PeriodView): string {
  return `from ${utc(period.from)} to ${utc(period.to)}`;
}

const STATES: ReadonlyArray<readonly [string, string]> = [
  ['', 'all but muted'],
  ['open,regressed', 'open and regressed'],
  ['open', 'open'],
  ['regressed', 'regressed'],
  ['solved', 'solved'],
  ['muted', 'muted'],
  ['all', 'all'],
];
const LEVELS: ReadonlyArray<readonly [string, string]> = [
  ['', 'any level'],
  ['WARNING', 'WARNING and above'],
  ['ERROR', 'ERROR and above'],
  ['CRITICAL', 'CRITICAL'],
];
const PERIODS: ReadonlyArray<readonly [string, string]> = [
  ['24h', 'last 24 hours'],
  ['7d', 'last 7 days'],
  ['30d', 'last 30 days'],
  ['custom', 'custom'],
];
const SORTS: ReadonlyArray<readonly [string, string]> = [
  ['-lastSeen', 'last seen'],
  ['-firstSeen', 'newest problems'],
  ['-occurrenceCount', 'most occurrences'],
  ['-level', 'highest level'],
  ['-regressionCount', 'most regressions'],
  ['id', 'ticket id'],
];

function select(
  name: string,
  label: string,
  options: ReadonlyArray<readonly [string, string]>,
  value: string,
): HTMLElement {
  return h(
    'label',
    {},
    h('span', {}, label),
    h('select', { name }, ...options.map(([v, text]) => h('option', { value: v, selected: v === value }, text))),
  );
}

function field(name: string, label: string, value: string, placeholder = ''): HTMLElement {
  return h(
    'label',
    {},
    h('span', {}, label),
    h('input', { type: name === 'q' ? 'search' : 'text', name, value, placeholder }),
  );
}

export function filterForm(action: string, params: URLSearchParams): HTMLElement {
  const value = (name: string) => params.get(name) ?? '';
  const report = staticReport();
  if (report !== null) {
    const shown = [...new URLSearchParams(report.params).entries()].map(([k, v]) => `${k}=${v}`).join(', ');
    return h(
      'p',
      { class: 'report-filters' },
      `Report made ${utc(report.madeAt)}${shown === '' ? '' : ` with ${shown}`}.`,
    );
  }
  const period = value('period') || (value('from') !== '' ? 'custom' : '7d');
  return h(
    'form',
    { class: 'filters', method: 'get', action, role: 'search' },
    field('q', 'Search titles', value('q'), 'text in the title'),
    select('state', 'State', STATES, value('state')),
    select('level', 'Level', LEVELS, value('level').toUpperCase()),
    field('app', 'App', value('app')),
    field('channel', 'Channel', value('channel')),
    field('release', 'Release', value('release')),
    field('environment', 'Environment', value('environment')),
    select('period', 'Period', PERIODS, period),
    field('from', 'From (custom, UTC)', value('from'), '2026-11-01T00:00Z'),
    field('to', 'To (custom, UTC)', value('to'), '2026-11-08T00:00Z'),
    action === '/tickets' ? select('sort', 'Sort by', SORTS, value('sort') || '-lastSeen') : null,
    h('button', { type: 'submit' }, 'Apply'),
  );
}
