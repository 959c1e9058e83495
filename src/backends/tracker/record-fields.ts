/**
 * Reading the parts of a stored record (the JSON the pipeline writes) that
 * ticket texts show: message, error, extra data, host. Shared by the Trac
 * wiki and GitHub Markdown renderers.
 */

import type { JsonValue } from '../../logging/json-safe.js';

export function field(data: JsonValue, ...path: string[]): JsonValue | undefined {
  let value: JsonValue | undefined = data;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = value[key];
  }
  return value;
}

/** A value as text: strings as they are, anything else as indented JSON. */
export const text = (value: JsonValue | undefined): string =>
  value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value, null, 2);

/** The error's stack, or `Name: message`, or ''. */
export function errorText(record: JsonValue): string {
  const error = field(record, 'error');
  if (error === undefined || error === null) return '';
  return text(field(error, 'stack')) || `${text(field(error, 'name'))}: ${text(field(error, 'message'))}`;
}

/** The record's extra data, when there is any. */
export function extraOf(record: JsonValue): JsonValue | undefined {
  const extra = field(record, 'extra');
  return extra === undefined || extra === null || (typeof extra === 'object' && Object.keys(extra).length === 0)
    ? undefined
    : extra;
}

/** `host (pid N)`, or ''. */
export function hostOf(record: JsonValue): string {
  const name = text(field(record, 'process', 'hostname'));
  return name === '' ? '' : `${name} (pid ${text(field(record, 'process', 'pid'))})`;
}
