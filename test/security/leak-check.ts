/**
 * Looking for planted credentials in every view of an error that a program,
 * a log or a store could take: String(err), err.stack, util.inspect with
 * everything shown, JSON.stringify of the error and of each link of its cause
 * chain, the handler's own snapshot (toJsonSafe), and finally every string and
 * byte buffer reachable from the error through own properties (enumerable or
 * not, symbols included), so that nothing hidden from those views can keep a
 * secret either.
 */

import type { ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { LogticketsError } from '../../src/index.js';
import { toJsonSafe } from '../../src/logging/json-safe.js';

/** A unique secret for one case: long enough to be matched anywhere, with a marker to tell it in output. */
export function plant(prefix = 'Planted'): string {
  return `${prefix}-${randomBytes(12).toString('base64url')}`;
}

/** The forms a secret may take in transit: as is, URL-encoded, base64 (the same for a `user:password` pair). */
export function forms(secret: string, user?: string): string[] {
  const out = new Set([secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')]);
  if (user !== undefined) out.add(Buffer.from(`${user}:${secret}`).toString('base64'));
  return [...out];
}

/** Each link of the cause chain (causes, AggregateError-style `errors`), each once. */
export function chainOf(error: unknown): unknown[] {
  const out: unknown[] = [];
  const seen = new Set<unknown>();
  const visit = (e: unknown) => {
    if (e === null || typeof e !== 'object' || seen.has(e)) return;
    seen.add(e);
    out.push(e);
    if ('cause' in e) visit((e as { cause?: unknown }).cause);
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors)) errors.forEach(visit);
  };
  visit(error);
  return out;
}

function stringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch (error) {
    return `[JSON.stringify threw: ${(error as Error).message}]`;
  }
}

/** Every string and buffer (as text) reachable through own properties, with where it was found. */
export function reachableText(root: unknown, maxNodes = 200_000): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const seen = new Set<object>();
  const queue: Array<[unknown, string]> = [[root, '$']];
  while (queue.length > 0 && seen.size < maxNodes) {
    const [value, path] = queue.shift()!;
    if (typeof value === 'string') {
      out.push([path, value]);
      continue;
    }
    if (value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value)) continue;
    seen.add(value);
    if (ArrayBuffer.isView(value)) {
      out.push([path, Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1')]);
      continue;
    }
    if (value instanceof Map) for (const [k, v] of value) queue.push([k, `${path}<key>`], [v, `${path}<value>`]);
    if (value instanceof Set) for (const v of value) queue.push([v, `${path}<item>`]);
    for (const key of Reflect.ownKeys(value)) {
      const descriptor = Object.getOwnPropertyDescriptor(value, key);
      if (descriptor === undefined) continue;
      let field: unknown = descriptor.value;
      if (descriptor.get !== undefined) {
        try {
          field = descriptor.get.call(value);
        } catch {
          continue;
        }
      }
      queue.push([field, `${path}.${String(key)}`]);
    }
  }
  return out;
}

/** The views of an error that are checked, by name. */
export function views(error: unknown): Array<[string, string]> {
  const e = error as Error;
  const list: Array<[string, string]> = [
    ['String(err)', String(e)],
    ['err.stack', String(e.stack)],
    ['util.inspect', inspect(e, { depth: Infinity, showHidden: true, getters: true })],
    ['JSON.stringify(err)', stringify(e)],
    ['toJsonSafe(err)', stringify(toJsonSafe(e))],
  ];
  chainOf(e).forEach((link, i) => list.push([`JSON.stringify(chain[${i}])`, stringify(link)]));
  for (const [path, text] of reachableText(e)) list.push([`reachable ${path}`, text]);
  return list;
}

// Runtime-made credentials have shapes: a JWT, a PEM body, a Basic credential not masked.
const SHAPES: ReadonlyArray<[string, RegExp]> = [
  ['a JSON Web Token', /eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\./],
  ['a private key body', /PRIVATE KEY-----\s*(?:\\n)?[A-Za-z0-9+/]{16,}/],
  ['an unmasked Basic credential', /\bBasic\s+(?!\*\*\*)[A-Za-z0-9+/]{6,}=*/],
];

/**
 * Fails the test when a secret (in any of its forms) shows up in a view of
 * `error`. Secrets shorter than 8 characters are looked for as whole words.
 */
export function assertNoSecrets(t: ExecutionContext, error: unknown, secrets: readonly string[], label: string): void {
  const needles = secrets
    .filter((s) => s !== '')
    .map((s) =>
      s.length >= 8
        ? { s, re: new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) }
        : { s, re: new RegExp(`(?<![A-Za-z0-9])${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9])`) },
    );
  const found: string[] = [];
  for (const [view, text] of views(error)) {
    for (const { s, re } of needles) if (re.test(text)) found.push(`${view} carries ${JSON.stringify(s)}`);
    for (const [what, re] of SHAPES) if (re.test(text)) found.push(`${view} carries ${what}`);
  }
  t.deepEqual(found.slice(0, 10), [], `${label}: ${found.length} leaks`);
}

/** Objects that hold requests or connections must not be reachable from the error at all. */
export function assertNoTransportObjects(t: ExecutionContext, error: unknown, label: string): void {
  const found: string[] = [];
  for (const link of chainOf(error)) {
    for (const key of ['config', 'request', 'response', 'headers', 'options', 'client', 'socket']) {
      const value = (link as Record<string, unknown>)[key];
      if (value !== null && typeof value === 'object') found.push(`${(link as Error).name}.${key}`);
    }
  }
  t.deepEqual(found, [], `${label}: transport objects kept`);
}

/** Runs `run`, which must fail with a LogticketsError; checks code and leaks, returns the error. */
export async function expectSafeFailure(
  t: ExecutionContext,
  label: string,
  run: () => Promise<unknown>,
  secrets: readonly string[],
  codes: readonly string[],
): Promise<LogticketsError | undefined> {
  let error: unknown;
  try {
    await run();
  } catch (thrown) {
    error = thrown;
  }
  if (!(error instanceof LogticketsError)) {
    t.fail(`${label}: expected a LogticketsError, got ${error === undefined ? 'success' : String(error)}`);
    return undefined;
  }
  t.true(codes.includes(error.code), `${label}: code ${error.code}, expected one of ${codes.join(', ')}`);
  assertNoSecrets(t, error, secrets, label);
  assertNoTransportObjects(t, error, label);
  return error;
}
