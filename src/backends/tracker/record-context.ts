/**
 * The parts of a stored record that say where and after what a problem
 * happened — its release and environment, the request it was logged in, and
 * its breadcrumbs — as plain text for ticket texts (ticket-text.ts puts each
 * inside the tracker's literal block, so none of it is ever markup).
 */

import type { JsonValue } from '../../logging/json-safe.js';
import { oneLine } from '../../ticketing/text.js';
import { field, text } from './record-fields.js';

/** `release: …` and `environment: …` lines, for those the record has. */
export function deploymentLines(record: JsonValue): string[] {
  const lines: string[] = [];
  const release = text(field(record, 'release'));
  const environment = text(field(record, 'environment'));
  if (release !== '') lines.push(`release: ${oneLine(release, 200)}`);
  if (environment !== '') lines.push(`environment: ${oneLine(environment, 200)}`);
  return lines;
}

/** The request a record was logged in, a few lines; '' outside a request. */
export function requestText(record: JsonValue): string {
  const request = field(record, 'request');
  if (request === undefined || request === null || typeof request !== 'object' || Array.isArray(request)) return '';
  const method = oneLine(text(field(request, 'method')), 20);
  const path = oneLine(text(field(request, 'path')), 500);
  const route = oneLine(text(field(request, 'route')), 500);
  const status = field(request, 'status');
  const lines = [`${method} ${route !== '' ? route : path}${typeof status === 'number' ? ` → ${status}` : ''}`.trim()];
  if (route !== '' && route !== path) lines.push(`path: ${path}`);
  const user = text(field(request, 'userId'));
  if (user !== '') lines.push(`user: ${oneLine(user, 200)}`);
  const headers = field(request, 'headers');
  if (headers !== undefined && headers !== null && typeof headers === 'object' && !Array.isArray(headers)) {
    for (const [name, value] of Object.entries(headers))
      lines.push(`${oneLine(name, 100)}: ${oneLine(text(value), 300)}`);
  }
  return lines.join('\n');
}

const CHANNEL_WIDTH = 24;
const MESSAGE_LENGTH = 200;

/**
 * The breadcrumbs as an aligned table, oldest first: time of day (UTC),
 * level, channel, message; '' when the record has none.
 */
export function breadcrumbTable(record: JsonValue): string {
  const crumbs = field(record, 'breadcrumbs');
  if (!Array.isArray(crumbs) || crumbs.length === 0) return '';
  const rows = crumbs.map((crumb) => {
    const time = text(field(crumb, 'time'));
    return [
      /T(\d\d:\d\d:\d\d(\.\d+)?)/.exec(time)?.[1] ?? oneLine(time, 30),
      oneLine(text(field(crumb, 'level')), 10),
      oneLine(text(field(crumb, 'channel')), CHANNEL_WIDTH),
      oneLine(text(field(crumb, 'message')), MESSAGE_LENGTH),
    ];
  });
  const header = ['TIME (UTC)', 'LEVEL', 'CHANNEL', 'MESSAGE'];
  const widths = [0, 1, 2].map((i) => Math.max(header[i]!.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
