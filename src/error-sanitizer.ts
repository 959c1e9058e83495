/**
 * Keeping credentials out of errors.
 *
 * Errors from the libraries logtickets talks through keep far more than a
 * message: an axios error holds the request config (with `auth`) and the
 * socket's request (with its `Authorization` header), an Octokit RequestError
 * the request and the response, a driver error its connection details. Any of
 * them kept as a `cause` would show a password to `util.inspect`, to
 * `JSON.stringify` (axios errors even have a `toJSON` that copies the config)
 * and to every log that stores the error.
 *
 * So a foreign error never becomes a cause as it is. `sanitizeCause` makes a
 * plain copy instead, a `SanitizedError`: its name, its message and stack with
 * credentials masked, the scalar fields worth knowing (code, errno, syscall,
 * status, SQLSTATE fields, ...), and its own cause and `errors` copied the same
 * way. Objects hanging off the error (config, request, response, headers,
 * sockets, topology descriptions) are left behind.
 *
 * Masking is done twice: by shape (`maskSecrets`: passwords in URLs and
 * connection strings, Authorization headers, bearer and basic credentials,
 * GitHub tokens, JSON Web Tokens, PEM private keys) and, where the caller knows
 * its own credentials, by value (`redactSecrets`): the configured password or
 * token is replaced wherever it appears, also URL- or JSON-encoded.
 */

const MASK = '***';

type Replacement = string | ((match: string, ...groups: string[]) => string);

// Names under which a value is a credential, in `key: 'value'`, `"key":"value"` and `key=value` text.
const SECRET_NAMES =
  'password|passwd|pass|pwd|secret|client_?secret|token|access_?token|refresh_?token|private_?key|api_?key|apikey';

const SECRET_PATTERNS: ReadonlyArray<readonly [RegExp, Replacement]> = [
  // PEM private keys, also when cut short.
  [
    /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g,
    '-----BEGIN $1PRIVATE KEY-----***-----END $1PRIVATE KEY-----',
  ],
  // user:password@ inside any URL-like string (empty user, '/' or '@' in the password included).
  [/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\n@]*@/gi, '$1:***@'],
  // The same when the user name itself has spaces or other odd characters: user and password both go.
  [/([a-z][a-z0-9+.-]*:\/\/)(?![^\n/@]*:\*\*\*@)[^\n/@]*:[^\n@]*@/gi, '$1***@'],
  // A token used as the user of an https URL, without the scheme.
  [/\b(x-access-token|x-oauth-basic|oauth2):[^\s@]+@/gi, '$1:***@'],
  // Authorization headers however they are written: `Authorization: Basic …`, `"authorization":"token …"`.
  [
    /\b((?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:(basic|bearer|token|digest|negotiate)\s+)?[^\s"',;}\]]+/gi,
    (_m, head: string, scheme: string | undefined) => `${head}${scheme === undefined ? '' : `${scheme} `}${MASK}`,
  ],
  [/\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${MASK}`],
  // JSON Web Tokens (a GitHub App's JWT among them): header and payload are base64url JSON objects.
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, MASK],
  // GitHub personal, OAuth, user-to-server, server-to-server (installation) and refresh tokens.
  [/\b(?:gh[pousr]_[A-Za-z0-9_]{16,}|github_pat_[A-Za-z0-9_]{16,}|v1\.[0-9a-f]{40})\b/g, MASK],
  // key: 'value' and "key": "value", as util.inspect and JSON write them.
  [
    new RegExp(`((["']?)\\b(?:${SECRET_NAMES})\\2\\s*:\\s*)(["'\`])(?:\\\\.|(?!\\3)[^\\\\])*\\3`, 'gi'),
    (_m, head: string, _q: string, quote: string) => `${head}${quote}${MASK}${quote}`,
  ],
  // key=value in query strings and keyword/value connection strings (`host=db password=…`).
  [
    new RegExp(`(^|[?&;,(\\s])((?:${SECRET_NAMES}|key|sig)\\s*=\\s*)(?:'[^']*'|"[^"]*"|[^&\\s;,)'"]+)`, 'gi'),
    `$1$2${MASK}`,
  ],
];

/** Replace credentials that may appear in URIs or error texts by `***`. */
export function maskSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) {
    out = out.replace(pattern, replacement as (match: string, ...groups: string[]) => string);
  }
  return out;
}

// Shorter than this, a secret is replaced only where it stands alone (not inside a longer word).
const ANYWHERE_LENGTH = 8;

/** Regular expressions finding known secret values, also URL-, JSON- and form-encoded. */
export type SecretMatchers = readonly RegExp[];

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function secretMatchers(secrets: Iterable<string | undefined> | undefined): SecretMatchers {
  const variants = new Set<string>();
  for (const secret of secrets ?? []) {
    if (typeof secret !== 'string' || secret === '') continue;
    variants.add(secret);
    variants.add(encodeURIComponent(secret));
    variants.add(JSON.stringify(secret).slice(1, -1));
    variants.add(new URLSearchParams({ s: secret }).toString().slice(2));
  }
  // Longest first, so that a secret containing another is replaced whole.
  return [...variants]
    .sort((a, b) => b.length - a.length)
    .map((v) =>
      v.length >= ANYWHERE_LENGTH
        ? new RegExp(escapeRegExp(v), 'g')
        : new RegExp(`(?<![A-Za-z0-9])${escapeRegExp(v)}(?![A-Za-z0-9])`, 'g'),
    );
}

/** `maskSecrets`, then every known secret value replaced by `***`. */
export function redactSecrets(text: string, matchers: SecretMatchers = []): string {
  let out = maskSecrets(text);
  for (const re of matchers) out = out.replace(re, MASK);
  return out;
}

/**
 * A URL or connection string as an error message may show it: whatever stands
 * between `scheme://` and the last `@` (user and password, however odd their
 * characters) becomes `***`.
 */
export function uriForMessage(uri: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(uri)?.[0];
  if (scheme === undefined) return maskSecrets(uri);
  const at = uri.lastIndexOf('@');
  return at < scheme.length ? maskSecrets(uri) : `${scheme}${MASK}${uri.slice(at)}`;
}

/**
 * The credentials inside a URL or connection string: the password (as written
 * and decoded) and `user:password`; empty when it carries none.
 */
export function uriSecrets(uri: string | undefined): string[] {
  if (typeof uri !== 'string') return [];
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(uri)?.[0];
  const at = uri.lastIndexOf('@');
  const found = scheme === undefined || at < scheme.length ? undefined : uri.slice(scheme.length, at);
  if (found === undefined) return [];
  const colon = found.indexOf(':');
  if (colon === -1) return [found, safeDecode(found)]; // a token written as the user
  const password = found.slice(colon + 1);
  return password === '' ? [] : [password, safeDecode(password), found, safeDecode(found)];
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

// Objects known to hold no credentials: LogticketsErrors and the copies made here.
const CLEAN = new WeakSet<object>();

/** Record that `error` was built from sanitized parts only, so it is kept as it is when it becomes a cause. */
export function markSanitized(error: object): void {
  CLEAN.add(error);
}

/** Fields whose name says they may hold a credential are never copied, whatever their value. */
const SECRET_FIELD = /pass|secret|token|auth|cred|cookie|signature|jwt|private|api_?key|connection/i;
const OWN_FIELDS = new Set(['name', 'message', 'stack', 'cause', 'errors', 'toJSON', 'constructor', '__proto__']);
const MAX_FIELDS = 40;
const MAX_ITEMS = 50;
const MAX_DEPTH = 16;

/**
 * A credential-free copy of an error from another library: see the top of
 * this file. `name` is the original's (AxiosError, HttpError, MongoServerError,
 * ...); scalar fields such as `code` or `status` are plain properties.
 */
export class SanitizedError extends Error {
  /** For AggregateErrors (and others with an `errors` list): their copied errors. */
  declare readonly errors?: readonly unknown[];

  toJSON(): Record<string, unknown> {
    return errorJson(this, new Set());
  }
}
Object.defineProperty(SanitizedError.prototype, 'name', {
  value: 'SanitizedError',
  writable: true,
  configurable: true,
});

/** A plain-data picture of an error and its causes, as `toJSON` gives it; cycles become "[Circular]". */
export function errorJson(error: Error, seen: Set<object>): Record<string, unknown> {
  seen.add(error);
  const out: Record<string, unknown> = { name: error.name, message: error.message, stack: error.stack };
  for (const key of Object.keys(error)) {
    if (OWN_FIELDS.has(key)) continue;
    const value = (error as unknown as Record<string, unknown>)[key];
    // JSON.stringify throws on bigints and drops symbols: both become text.
    out[key] = typeof value === 'bigint' ? `${value}n` : typeof value === 'symbol' ? String(value) : value;
  }
  const nested = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    if (seen.has(value)) return '[Circular]';
    return value instanceof Error ? errorJson(value, seen) : value;
  };
  if ('cause' in error) out['cause'] = nested(error.cause);
  const errors = (error as { errors?: unknown }).errors;
  if (Array.isArray(errors)) out['errors'] = errors.map(nested);
  seen.delete(error);
  return out;
}

interface Walk {
  readonly matchers: SecretMatchers;
  readonly copies: Map<object, unknown>;
}

/**
 * What may be kept as the `cause` of a LogticketsError: strings with
 * credentials masked, other primitives as they are, LogticketsErrors and
 * SanitizedErrors as they are, and anything else as a SanitizedError.
 */
export function sanitizeCause(value: unknown, secrets?: SecretMatchers): unknown {
  return copy(value, { matchers: secrets ?? [], copies: new Map() }, 0);
}

function copy(value: unknown, walk: Walk, depth: number): unknown {
  if (typeof value === 'string') return redactSecrets(value, walk.matchers);
  if (typeof value === 'function') return `[Function]`;
  if (value === null || typeof value !== 'object') return value;
  if (CLEAN.has(value)) return value;
  const done = walk.copies.get(value);
  if (done !== undefined) return done; // a cycle, or an error met twice: the same copy
  if (depth >= MAX_DEPTH) return '[cause chain cut: too deep]';
  const text = (s: string) => redactSecrets(s, walk.matchers);
  const name = readString(value, 'name') ?? constructorName(value);
  const message = readString(value, 'message') ?? describe(value);
  const result = new SanitizedError(text(message));
  markSanitized(result);
  walk.copies.set(value, result);
  define(result, 'name', text(name));
  const stack = readString(value, 'stack');
  define(result, 'stack', text(stack ?? `${name}: ${message}`));
  for (const [key, field] of scalarFields(value)) {
    Object.defineProperty(result, key, {
      value: Array.isArray(field) ? field.map((f) => copy(f, walk, depth + 1)) : copy(field, walk, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  if (has(value, 'cause')) define(result, 'cause', copy(read(value, 'cause'), walk, depth + 1));
  const errors = read(value, 'errors');
  if (Array.isArray(errors)) {
    const kept = errors.slice(0, MAX_ITEMS).map((e) => copy(e, walk, depth + 1));
    if (errors.length > MAX_ITEMS) kept.push(`[${errors.length - MAX_ITEMS} more errors]`);
    define(result, 'errors', kept);
  }
  return result;
}

/** The error's own primitive fields (and lists of primitives), minus those that may be credentials. */
function scalarFields(value: object): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  let keys: string[] = [];
  try {
    keys = Object.keys(value);
  } catch {
    // a proxy that refuses: no fields then
  }
  // Useful fields some libraries keep on the prototype (MongoDB's error labels) or in the request.
  const extra: Array<[string, unknown]> = [['errorLabels', read(value, 'errorLabels')]];
  // Axios keeps method and URL in `config` (the URL maybe in baseURL), Octokit in `request`.
  let method: unknown;
  let url: unknown;
  for (const source of [read(value, 'config'), read(value, 'request')]) {
    if (source === null || typeof source !== 'object') continue;
    method ??= read(source, 'method');
    const found = read(source, 'url');
    url ??= typeof found === 'string' && found !== '' ? found : read(source, 'baseURL');
  }
  extra.push(['method', method], ['url', url]);
  for (const key of keys) {
    if (out.length >= MAX_FIELDS) break;
    if (OWN_FIELDS.has(key) || SECRET_FIELD.test(key)) continue;
    const field = read(value, key);
    if (isScalar(field) || isScalarList(field)) out.push([key, field]);
  }
  for (const [key, field] of extra) {
    if (!keys.includes(key) && (isScalar(field) || isScalarList(field)) && field !== undefined) out.push([key, field]);
  }
  return out;
}

const isScalar = (v: unknown): boolean => v === null || (typeof v !== 'object' && typeof v !== 'function');
const isScalarList = (v: unknown): boolean => Array.isArray(v) && v.length <= MAX_ITEMS && v.every(isScalar);

/** A field of anything thrown, or undefined: never throws (getters and proxies may). */
export function readField(value: unknown, key: string): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  return read(value, key);
}

function read(value: object, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined; // a throwing getter
  }
}

function has(value: object, key: string): boolean {
  try {
    return key in value;
  } catch {
    return false;
  }
}

function readString(value: object, key: string): string | undefined {
  const v = read(value, key);
  return typeof v === 'string' ? v : undefined;
}

function constructorName(value: object): string {
  try {
    const name: unknown = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== '' ? name : 'Object';
  } catch {
    return 'Object';
  }
}

function describe(value: object): string {
  try {
    const text = String(value);
    return text === '[object Object]' ? '' : text;
  } catch {
    return '';
  }
}

function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: false, writable: true, configurable: true });
}
