/**
 * Config problems in words: each zod issue becomes one line that names the
 * JSON path and what was expected, with the closest known key for a typo.
 * A given value is described by its kind only (it may be a secret).
 */

import type { z } from 'zod';
import { configSchemas } from './config-schema.js';

type Path = ReadonlyArray<string | number>;

/** `trackers[1].token`, `handler.level`; `(top level)` for the root. */
export function jsonPath(path: Path): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out === '' ? '(top level)' : out;
}

export function describe(issue: z.core.$ZodIssue, input: unknown): string {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((key) => {
        const guess = closest(key, knownKeysAt(input, path));
        return `${jsonPath([...path, key])}: unknown key${guess === undefined ? '' : ` (did you mean "${guess}"?)`}`;
      })
      .join('\n  - ');
  }
  const value = valueAt(input, path);
  if (issue.code === 'invalid_type') {
    const expected = EXPECTED[issue.expected] ?? issue.expected;
    return value === undefined
      ? `${jsonPath(path)}: required (expected ${expected})`
      : `${jsonPath(path)}: expected ${expected}, got ${kindOf(value)}`;
  }
  if (issue.code === 'invalid_union' && !('note' in issue && issue.note === 'No matching discriminator')) {
    // A union's own message says what it accepts; the value is described by its kind, never echoed.
    const accepts = issue.message.replace(/^Invalid input:?\s*/, '') || 'a different kind of value';
    return `${jsonPath(path)}: ${accepts}, got ${kindOf(value)}`;
  }
  if (issue.code === 'invalid_union' && 'note' in issue && issue.note === 'No matching discriminator') {
    return `${jsonPath(path[path.length - 1] === 'type' ? path : [...path, 'type'])}: expected "trac" or "github"`;
  }
  if ((issue.code === 'too_small' || issue.code === 'too_big') && typeof value === 'number') {
    // Numbers are the config's own (no secret): the bound and the value say what to change.
    const bound = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
    const word = issue.code === 'too_small' ? 'at least' : 'at most';
    return `${jsonPath(path)}: expected ${word} ${bound.toLocaleString('en-US')}, got ${value.toLocaleString('en-US')}`;
  }
  const message = issue.message.replace(/^Invalid input: /, '');
  return `${jsonPath(path)}: ${message.charAt(0).toLowerCase()}${message.slice(1)}`;
}

/** How expected types are named in messages. */
const EXPECTED: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
};

/** What kind of value was given (its type, never the value: it may be a secret). */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'a number too large to use';
    return Number.isInteger(value) ? 'a whole number' : 'a fraction';
  }
  if (typeof value === 'string') return 'text';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value === 'object' ? 'an object' : typeof value;
}

function valueAt(input: unknown, path: ReadonlyArray<string | number>): unknown {
  let here = input;
  for (const part of path) {
    if (here === null || typeof here !== 'object') return undefined;
    here = (here as Record<string | number, unknown>)[part];
  }
  return here;
}

/** The keys the schema allows in the object at `path` (for "did you mean"). */
function knownKeysAt(input: unknown, path: ReadonlyArray<string | number>): string[] {
  let schema: z.core.$ZodType | undefined = configSchemas().configSchema;
  const walked: Array<string | number> = [];
  for (const part of path) {
    schema = child(schema, part, valueAt(input, walked));
    walked.push(part);
    if (schema === undefined) return [];
  }
  return Object.keys(shapeOf(schema, valueAt(input, path)) ?? {});
}

function unwrap(schema: z.core.$ZodType | undefined): z.core.$ZodType | undefined {
  let s = schema;
  for (let i = 0; i < 10 && s !== undefined; i++) {
    const def = s._zod.def as {
      type: string;
      innerType?: z.core.$ZodType;
      out?: z.core.$ZodType;
      schema?: z.core.$ZodType;
    };
    if (def.type === 'optional' || def.type === 'nullable' || def.type === 'default') s = def.innerType;
    else if (def.type === 'pipe') s = def.out;
    else return s;
  }
  return s;
}

function shapeOf(schema: z.core.$ZodType | undefined, value: unknown): Record<string, z.core.$ZodType> | undefined {
  const s = unwrap(schema);
  if (s === undefined) return undefined;
  const def = s._zod.def as { type: string; shape?: Record<string, z.core.$ZodType>; options?: z.core.$ZodType[] };
  if (def.type === 'object') return def.shape;
  if (def.type === 'union' && def.options !== undefined) {
    const type = (value as { type?: unknown } | null)?.type;
    for (const option of def.options) {
      const shape = shapeOf(option, value);
      const literal = shape?.type?._zod.def as { values?: unknown[] } | undefined;
      if (shape !== undefined && (literal?.values === undefined || literal.values.includes(type))) return shape;
    }
  }
  return undefined;
}

function child(
  schema: z.core.$ZodType | undefined,
  part: string | number,
  value: unknown,
): z.core.$ZodType | undefined {
  const s = unwrap(schema);
  if (s === undefined) return undefined;
  const def = s._zod.def as { type: string; element?: z.core.$ZodType };
  if (def.type === 'array') return def.element;
  return shapeOf(s, value)?.[String(part)];
}

function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    if (candidate.startsWith('$')) continue;
    const d = distance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** Levenshtein distance (keys are short). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
