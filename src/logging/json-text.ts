/**
 * JSON text worked out once and kept beside the value it stands for, so that
 * a record carrying the same parts as many others (its breadcrumbs: each is
 * carried by up to 40 occurrences in a row) is serialized by joining texts
 * instead of walking every part again.
 *
 * The text sits under a symbol, which JSON.stringify and the stores' own
 * encoders skip: a value with its text is still an ordinary JSON value.
 */

import type { JsonValue } from './json-safe.js';

const TEXT = Symbol('logtickets.jsonText');

/** Freeze `value` with its JSON text kept beside it. */
export function withJsonText<T extends { [key: string]: JsonValue }>(value: T): Readonly<T> {
  Object.defineProperty(value, TEXT, { value: JSON.stringify(value) });
  return Object.freeze(value);
}

function textOf(value: JsonValue): string {
  const kept = value !== null && typeof value === 'object' ? (value as { [TEXT]?: string })[TEXT] : undefined;
  return kept ?? JSON.stringify(value);
}

/** A record's JSON text; its breadcrumbs, when it has any, joined from their kept texts (and put last). */
export function recordText(data: JsonValue): string {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return JSON.stringify(data);
  const crumbs = data.breadcrumbs;
  if (!Array.isArray(crumbs) || crumbs.length === 0) return JSON.stringify(data);
  const { breadcrumbs: _crumbs, ...rest } = data;
  const head = JSON.stringify(rest);
  const tail = `"breadcrumbs":[${crumbs.map(textOf).join(',')}]}`;
  return head === '{}' ? `{${tail}` : `${head.slice(0, -1)},${tail}`;
}
