/**
 * One record, in parts a person reads: the message, the error with its
 * stack, the request, the breadcrumbs before it, the extra fields, and the
 * whole record as JSON. Everything is text (dom.ts): a record's markup, links
 * and control characters stay inert.
 */

import { h, pre } from './dom.js';
import { utc } from './format.js';
import type { Json, OccurrenceView } from './types.js';

type JsonObject = { [key: string]: Json };

const LEVELS: Record<number, string> = {
  15: 'CRITICAL',
  14: 'ERROR',
  13: 'WARNING',
  12: 'NOTICE',
  11: 'INFO',
  10: 'DEBUG',
  9: 'TRACE',
};

function isObject(value: Json | undefined): value is JsonObject {
  return value !== null && value !== undefined && typeof value === 'object' && !Array.isArray(value);
}

function json(value: Json | undefined): string {
  return JSON.stringify(value, null, 2) ?? 'null';
}

export function recordSections(o: OccurrenceView): HTMLElement[] {
  const data = isObject(o.data) ? o.data : { value: o.data };
  const sections: HTMLElement[] = [];
  const section = (title: string, ...content: HTMLElement[]) =>
    sections.push(
      h(
        'section',
        { class: `record-part part-${title.toLowerCase().replace(/\W+/g, '-')}` },
        h('h3', {}, title),
        ...content,
      ),
    );
  section('Message', pre(typeof data.message === 'string' ? data.message : json(data.message), 'message'));
  const facts = [`time ${utc(o.time)}`];
  if (o.release !== null) facts.push(`release ${o.release}`);
  if (o.environment !== null) facts.push(`environment ${o.environment}`);
  const proc = data.process;
  if (isObject(proc)) facts.push(`process ${String(proc.pid ?? '?')} on ${String(proc.hostname ?? '?')}`);
  sections.push(h('p', { class: 'record-facts' }, facts.join(' · ')));
  if (data.error !== undefined && data.error !== null) section('Error', ...errorParts(data.error));
  if (data.request !== undefined && data.request !== null) section('Request', pre(json(data.request)));
  if (Array.isArray(data.breadcrumbs) && data.breadcrumbs.length > 0)
    section('Breadcrumbs', breadcrumbs(data.breadcrumbs));
  if (
    data.extra !== undefined &&
    data.extra !== null &&
    !(isObject(data.extra) && Object.keys(data.extra).length === 0)
  ) {
    section('Extra', pre(json(data.extra)));
  }
  sections.push(h('details', { class: 'raw' }, h('summary', {}, 'Whole record (JSON)'), pre(json(o.data))));
  return sections;
}

function errorParts(error: Json): HTMLElement[] {
  if (!isObject(error)) return [pre(json(error))];
  const { stack, ...rest } = error;
  const parts: HTMLElement[] = [];
  const head = [error.name, error.message].filter((v) => typeof v === 'string').join(': ');
  if (head !== '') parts.push(h('p', { class: 'error-head' }, head));
  if (typeof stack === 'string') parts.push(pre(stack, 'stack'));
  const others = Object.fromEntries(Object.entries(rest).filter(([k]) => k !== 'name' && k !== 'message'));
  if (Object.keys(others).length > 0) parts.push(pre(json(others)));
  return parts;
}

function breadcrumbs(list: Json[]): HTMLElement {
  const cell = (value: Json | undefined) =>
    h(
      'td',
      {},
      typeof value === 'string' || typeof value === 'number' ? String(value) : value === undefined ? '' : json(value),
    );
  return h(
    'table',
    { class: 'breadcrumbs' },
    h('thead', {}, h('tr', {}, ...['Time', 'Level', 'Channel', 'Message'].map((t) => h('th', { scope: 'col' }, t)))),
    h(
      'tbody',
      {},
      ...list.map((crumb) => {
        const c = isObject(crumb) ? crumb : { message: crumb };
        const time = typeof c.time === 'number' ? new Date(c.time).toISOString() : c.time;
        const level = typeof c.level === 'number' ? (LEVELS[c.level] ?? c.level) : c.level;
        return h(
          'tr',
          {},
          cell(typeof time === 'string' ? utc(time) : time),
          cell(c.levelName ?? level),
          cell(c.channel),
          cell(c.message),
        );
      }),
    ),
  );
}
