/**
 * Redaction: secrets are replaced before an occurrence is stored or sent
 * anywhere. It runs on the JSON-safe snapshot of a record (in the writer, off
 * the logging call), over the message, its template and arguments, `extra`
 * and the error (message, stack and every property).
 *
 * Two kinds of rules:
 * - key patterns: a value under a matching key is replaced whole, whatever it
 *   is. A key matches when, lower-cased and stripped of `-`, `_`, `.` and
 *   spaces, it contains the pattern (stripped the same way): `token` matches
 *   `access_token`, `X-Auth-Token` and `csrfToken`. The same patterns find
 *   `key=value` and `key: value` pairs inside text (query strings, headers,
 *   JSON written into a message).
 * - value patterns: regular expressions run over every string; each match is
 *   replaced (for bearer credentials and URLs, only the secret part).
 *
 * The defaults cover what production logs leak most: passwords, tokens, API
 * and private keys, cookies and Authorization headers; bearer and basic
 * credentials, GitHub/Slack/AWS keys, JSON Web Tokens, PEM private keys and
 * passwords inside URLs. Users add their own, or turn the defaults off.
 */

import { LRUCache } from 'lru-cache';
import { LogticketsError } from '../errors.js';
import type { JsonValue } from '../logging/json-safe.js';
import { checkOptions } from '../options.js';

export interface RedactionOptions {
  /** More key patterns (added to the defaults unless `defaults` is false). */
  readonly keys?: readonly string[];
  /** More value patterns: regular expression sources, matched case-sensitively unless written `(?i)` first. */
  readonly values?: readonly string[];
  /** Apply the built-in key and value patterns (default true). */
  readonly defaults?: boolean;
  /** What a secret is replaced with (default `[REDACTED]`). */
  readonly replacement?: string;
}

export const DEFAULT_REDACTED_KEYS: readonly string[] = Object.freeze([
  'password',
  'passwd',
  'secret',
  'token',
  'authorization',
  'cookie',
  'api key',
  'private key',
  'credential',
  'session id',
]);

/** Built-in value patterns; `keep` is how many leading capture groups stay visible. */
const DEFAULT_VALUE_PATTERNS: ReadonlyArray<{ readonly re: RegExp; readonly keep: number }> = [
  // PEM private keys, also when cut short by a size cap.
  { re: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, keep: 0 },
  // HTTP credentials: the scheme stays, the credential goes.
  { re: /\b(Bearer|Basic|Digest)(\s+)[A-Za-z0-9\-._~+/]{6,}=*/gi, keep: 2 },
  // user:password@ (or token@) inside any URL.
  { re: /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+(?=@)/gi, keep: 1 },
  // GitHub personal, OAuth, app and refresh tokens, and fine-grained tokens.
  { re: /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g, keep: 0 },
  // Slack tokens.
  { re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, keep: 0 },
  // AWS access key ids.
  { re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, keep: 0 },
  // JSON Web Tokens (header.payload.signature, the first two base64url JSON).
  { re: /\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, keep: 0 },
];

/**
 * Text every built-in value pattern needs to find (a superset, case aside):
 * a string without any of it is left alone without running the patterns one
 * by one. Kept next to the patterns above: a new pattern needs its trigger.
 */
const DEFAULT_VALUE_TRIGGER =
  /-----BEGIN|(?:bearer|basic|digest)\s|:\/\/|gh[pousr]_|github_pat_|xox[abposr]-|AKIA|ASIA|eyJ/i;

const SEPARATORS = /[-_.\s]/g;
const MEMO_MAX_LENGTH = 4_096;
const KEY_MEMO_MAX = 10_000;

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(SEPARATORS, '');
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

/** Compile a user's value pattern; `(?i)` at the start asks for case-insensitive matching. */
export function compileValuePattern(source: string): RegExp {
  const insensitive = source.startsWith('(?i)');
  const body = insensitive ? source.slice(4) : source;
  let re: RegExp;
  try {
    re = new RegExp(body, insensitive ? 'gi' : 'g');
  } catch (error) {
    throw new SyntaxError(regExpProblem(error));
  }
  if (re.test('')) throw new SyntaxError('it matches empty text');
  return re;
}

/**
 * Why a pattern does not compile, without the pattern: the engine's message
 * quotes it, and a redaction pattern often contains the very secret it hides.
 */
function regExpProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  if (!message.startsWith('Invalid regular expression:')) return 'invalid syntax';
  // The engine writes "Invalid regular expression: /SOURCE/FLAGS: REASON"; the reason is a fixed phrase.
  const reason = message.slice(message.lastIndexOf(': ') + 2);
  return /^[\w\s'(){}[\].,-]{1,80}$/.test(reason) ? reason.charAt(0).toLowerCase() + reason.slice(1) : 'invalid syntax';
}

export class Redactor {
  readonly replacement: string;
  private readonly keys: readonly string[];
  private readonly pairs: RegExp | null;
  private readonly defaultValues: boolean;
  private readonly userValues: ReadonlyArray<{ readonly re: RegExp; readonly keep: number }>;
  private readonly memo = new LRUCache<string, string>({ max: 1_000 });
  /** Key names already judged (a service's records use a bounded set of keys). */
  private readonly secretKeys = new Map<string, boolean>();

  constructor(options: RedactionOptions = {}) {
    checkOptions('redaction', options, { keys: 'array', values: 'array', defaults: 'boolean', replacement: 'string' });
    const useDefaults = options.defaults ?? true;
    const userKeys = (options.keys ?? []).map((key, i) => {
      if (typeof key !== 'string' || normalizeKey(key) === '') {
        throw new LogticketsError('INVALID_ARGUMENT', `redaction.keys[${i}] must be a non-empty string`);
      }
      return normalizeKey(key);
    });
    this.keys = [...new Set([...(useDefaults ? DEFAULT_REDACTED_KEYS.map(normalizeKey) : []), ...userKeys])];
    this.replacement = options.replacement ?? '[REDACTED]';
    // key=value / key: value / "key": "value" inside text; the key may carry separators between its letters.
    this.pairs =
      this.keys.length === 0
        ? null
        : new RegExp(
            `((?:${this.keys.map((k) => [...k].map(escapeRegExp).join('[-_.\\s]?')).join('|')})[\\w.-]*["']?\\s*[:=]\\s*["']?)((?:(?:Bearer|Basic|Digest)\\s+)?[^\\s"'&,;<>]+)`,
            'gi',
          );
    const userValues = (options.values ?? []).map((source, i) => {
      if (typeof source !== 'string')
        throw new LogticketsError('INVALID_ARGUMENT', `redaction.values[${i}] must be a string`);
      try {
        return { re: compileValuePattern(source), keep: 0 };
      } catch (error) {
        throw new LogticketsError(
          'INVALID_ARGUMENT',
          `redaction.values[${i}] is not a usable regular expression: ${(error as Error).message}`,
        );
      }
    });
    this.defaultValues = useDefaults;
    this.userValues = userValues;
  }

  /** True when values under this key are secret. */
  isSecretKey(key: string): boolean {
    if (this.keys.length === 0) return false;
    let secret = this.secretKeys.get(key);
    if (secret === undefined) {
      const k = normalizeKey(key);
      secret = this.keys.some((pattern) => k.includes(pattern));
      if (this.secretKeys.size >= KEY_MEMO_MAX) this.secretKeys.clear();
      if (key.length <= MEMO_MAX_LENGTH) this.secretKeys.set(key, secret);
    }
    return secret;
  }

  /** A string with every secret found in it replaced. */
  text(value: string): string {
    if (value.length < 4) return value;
    // Occurrences of one problem repeat their strings (stacks, templates, channel names): scan each once.
    const memo = value.length <= MEMO_MAX_LENGTH ? this.memo.get(value) : undefined;
    if (memo !== undefined) return memo;
    const out = this.scan(value);
    if (value.length <= MEMO_MAX_LENGTH) this.memo.set(value, out);
    return out;
  }

  private scan(value: string): string {
    let out = value;
    if (this.defaultValues && DEFAULT_VALUE_TRIGGER.test(out)) out = this.replaceAll(out, DEFAULT_VALUE_PATTERNS);
    if (this.userValues.length > 0) out = this.replaceAll(out, this.userValues);
    // A key=value or key: value pair needs its = or :.
    if (this.pairs !== null && (out.includes('=') || out.includes(':'))) {
      this.pairs.lastIndex = 0;
      out = out.replace(this.pairs, (_all, key: string, secret: string) =>
        secret === this.replacement ? key + secret : key + this.replacement,
      );
    }
    return out;
  }

  private replaceAll(text: string, patterns: ReadonlyArray<{ readonly re: RegExp; readonly keep: number }>): string {
    let out = text;
    for (const { re, keep } of patterns) {
      re.lastIndex = 0;
      if (!re.test(out)) continue;
      re.lastIndex = 0;
      out = out.replace(re, (...m: unknown[]) => {
        let kept = '';
        for (let g = 1; g <= keep; g++) kept += (m[g] as string | undefined) ?? '';
        return kept + this.replacement;
      });
    }
    return out;
  }

  /**
   * Format arguments after their message was redacted: an argument whose text
   * was in the message but is gone from the redacted one was (part of) a
   * secret — `connect postgres://app:%s@db` with the password as argument —
   * and is replaced too.
   */
  args(args: JsonValue, message: string, redactedMessage: string): JsonValue {
    const redacted = this.value(args);
    if (!Array.isArray(redacted) || message === redactedMessage) return redacted;
    return redacted.map((arg) =>
      typeof arg === 'string' && arg.length >= 4 && message.includes(arg) && !redactedMessage.includes(arg)
        ? this.replacement
        : arg,
    );
  }

  /**
   * A JSON value (a record's snapshot) with secrets replaced. The input is
   * not changed; what has nothing to replace is returned as it is, and a
   * container is copied only when something in it changed.
   */
  value(value: JsonValue): JsonValue {
    if (typeof value === 'string') return this.text(value);
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) {
      let out: JsonValue[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const item = value[i]!;
        const redacted = this.value(item);
        if (out === undefined && redacted !== item) out = value.slice(0, i);
        out?.push(redacted);
      }
      return out ?? value;
    }
    // A snapshot of a Map keeps its entries as [key, value] pairs: keys are checked the same way.
    if (value.type === 'Map' && Array.isArray(value.entries)) {
      return {
        ...value,
        entries: value.entries.map((entry) =>
          Array.isArray(entry) && entry.length === 2 && typeof entry[0] === 'string' && this.isSecretKey(entry[0])
            ? [this.text(entry[0]), this.replacement]
            : this.value(entry),
        ),
      };
    }
    const keys = Object.keys(value);
    let out: { [key: string]: JsonValue } | undefined;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const item = value[key]!;
      const redacted = this.isSecretKey(key) ? this.replacement : this.value(item);
      if (out === undefined && redacted !== item) {
        out = {};
        for (let k = 0; k < i; k++) put(out, keys[k]!, value[keys[k]!]!);
      }
      if (out !== undefined) put(out, key, redacted);
    }
    return out ?? value;
  }
}

/** A "__proto__" key is data here: kept as an own property, never as the prototype. */
function put(out: { [key: string]: JsonValue }, key: string, item: JsonValue): void {
  if (key === '__proto__')
    Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
  else out[key] = item;
}
