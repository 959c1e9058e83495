/**
 * An XML-RPC client for Trac: the `xmlrpc` package's serializer and
 * deserializer, with axios as the HTTP transport.
 *
 * What this adds over the package's own client:
 * - timeouts, TLS settings and proxies (axios);
 * - every failure is a LogticketsError: HTTP 401 → AUTH_FAILED, 403 →
 *   PERMISSION_DENIED, other HTTP errors with their status, XML-RPC faults →
 *   TRACKER_FAULT with `faultCode`, network trouble and 5xx → retryable;
 * - characters XML 1.0 cannot carry (NUL, ESC from terminal colours, other
 *   controls, lone surrogates) are replaced before serializing, instead of
 *   making the serializer throw;
 * - `dateTime.iso8601` values, which Trac sends in UTC without a zone, are read
 *   as UTC whatever the process's time zone, and dates sent are written in
 *   UTC too (the package's serializer would write the process's local time,
 *   which Trac would take for UTC);
 * - `multicall`: several calls in one request (`system.multicall`), each with
 *   its own value or fault;
 * - no keep-alive: tracd leaves an unread request body on the connection after
 *   a 401, which would corrupt the next request;
 * - a request is sent once: no retry here, as a write whose answer was lost
 *   may have been done (the caller decides, after looking at the ticket);
 * - the password cannot leak through an error: axios errors (which keep the
 *   request config with `auth`, and the request with its Authorization header)
 *   are never kept as they are, only as sanitized copies, and the password,
 *   `user:password` and its base64 form are replaced by value in every message
 *   and stack. The client keeps the credentials in private fields, out of
 *   reach of util.inspect.
 *
 * axios and the XML codec (xmlrpc-codec.ts) are loaded on the first call, not
 * when the client is made: an application that configures a Trac tracker it
 * never reaches, or only imports logtickets, does not pay for them.
 */

import type { AxiosInstance, AxiosProxyConfig } from 'axios';
import {
  LogticketsError,
  maskSecrets,
  redactSecrets,
  secretMatchers,
  uriSecrets,
  type SecretMatchers,
} from '../../errors.js';
import { lazy } from '../../lazy.js';

export interface XmlRpcClientOptions {
  /** The RPC endpoint, e.g. `https://trac.example.org/login/rpc`. */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  /** Per request (default 15 000 ms). */
  readonly timeoutMs?: number;
  /** TLS: trust these CA certificates, or (not recommended) accept any certificate. */
  readonly tls?: { readonly ca?: string | Buffer; readonly rejectUnauthorized?: boolean };
  /** An HTTP proxy, or false for none (default: the HTTP(S)_PROXY environment variables). */
  readonly proxy?: AxiosProxyConfig | false;
  /** Name used in errors (credential-free). */
  readonly name: string;
}

// XML 1.0 allows tab, newline and carriage return among the controls, and no lone surrogates.
const NOT_XML =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Replace what XML cannot carry with U+FFFD, in strings, arrays and plain objects. */
export function xmlSafe(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(NOT_XML, '\uFFFD');
  if (Array.isArray(value)) return value.map(xmlSafe);
  if (value !== null && typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [xmlSafe(k) as string, xmlSafe(v)]));
  }
  return value;
}

/** One call of a multicall. */
export interface XmlRpcCall {
  readonly method: string;
  readonly params: readonly unknown[];
}

/** The outcome of one call of a multicall: its value, or its fault as a LogticketsError (see `multicall`). */
export type MulticallResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly fault: LogticketsError };

// 20240115T12:00:00 (Trac), also with dashes, fractions or a zone.
const ISO8601 = /^(\d{4})-?(\d\d)-?(\d\d)T(\d\d):?(\d\d):?(\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$/;

/** A Trac date: UTC when it names no zone. */
export function parseTracDate(text: string): Date {
  const m = ISO8601.exec(text.trim());
  if (m === null) throw new Error(`not an ISO 8601 date: ${text}`);
  const zone = m[8] === undefined ? 'Z' : m[8].length === 5 ? `${m[8].slice(0, 3)}:${m[8].slice(3)}` : m[8];
  return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ?? ''}${zone}`);
}

/** Every form in which the client's credentials could show up in an error's text. */
export function tracSecrets(options: Pick<XmlRpcClientOptions, 'url' | 'username' | 'password' | 'proxy'>): string[] {
  const { username, password } = options;
  const found = [...uriSecrets(options.url)];
  if (password !== undefined && password !== '') {
    found.push(password);
    if (username !== undefined) {
      found.push(`${username}:${password}`, Buffer.from(`${username}:${password}`).toString('base64'));
    }
  }
  const proxy = options.proxy === false ? undefined : options.proxy?.auth;
  if (proxy !== undefined && proxy.password !== '') {
    found.push(proxy.password, Buffer.from(`${proxy.username}:${proxy.password}`).toString('base64'));
  }
  return found;
}

/** What a call needs that is loaded on the first one. */
interface Transport {
  readonly http: AxiosInstance;
  readonly codec: typeof import('./xmlrpc-codec.js');
}

export class XmlRpcClient {
  /** axios set up for this endpoint, and the codec, loaded on the first call (a private field: it holds the password). */
  readonly #transport: () => Promise<Transport>;
  readonly #secrets: SecretMatchers;
  private readonly options: { readonly name: string; readonly username: string | undefined };

  constructor(options: XmlRpcClientOptions) {
    this.#secrets = secretMatchers(tracSecrets(options));
    this.options = { name: options.name, username: options.username };
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new LogticketsError('INVALID_ARGUMENT', `url: not a valid URL: ${options.url}`, { secrets: this.#secrets });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new LogticketsError('INVALID_ARGUMENT', `url: must be http:// or https://, got ${url.protocol}`);
    }
    const settings = { ...options };
    this.#transport = lazy(() => openTransport(settings));
  }

  /** Call `method` with `params`; resolves with the decoded result. An aborted call fails as BACKEND_UNAVAILABLE. */
  async call<T = unknown>(
    method: string,
    params: readonly unknown[] = [],
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<T> {
    const { http, codec } = await this.#transport();
    const body = codec.serializeCall(method, xmlSafe(params) as unknown[]);
    let response;
    try {
      response = await http.post<string>('', body, options.signal === undefined ? {} : { signal: options.signal });
    } catch (error) {
      const e = error as { code?: string; message?: string };
      const timedOut = e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT';
      throw new LogticketsError(
        timedOut ? 'TIMEOUT' : 'BACKEND_UNAVAILABLE',
        `${method}: ${e.message ?? String(error)}`,
        {
          cause: error,
          backend: this.options.name,
          retryable: true,
          secrets: this.#secrets,
        },
      );
    }
    const { status } = response;
    if (status === 401) {
      throw new LogticketsError(
        'AUTH_FAILED',
        `${method}: Trac refused the credentials of ${this.options.username ?? 'anonymous'} (HTTP 401): check username and password`,
        {
          backend: this.options.name,
          status,
        },
      );
    }
    if (status === 403) {
      throw new LogticketsError('PERMISSION_DENIED', `${method}: HTTP 403: the user lacks a permission (XML_RPC?)`, {
        backend: this.options.name,
        status,
      });
    }
    if (status < 200 || status >= 300) {
      const retryable = status >= 500 || status === 429 || status === 408;
      const hint = status === 404 ? ': is the url the RPC endpoint (…/login/rpc) and the XML-RPC plugin enabled?' : '';
      throw new LogticketsError(
        retryable ? 'BACKEND_UNAVAILABLE' : 'PROTOCOL_ERROR',
        `${method}: HTTP ${status}${hint}`,
        {
          backend: this.options.name,
          retryable,
          status,
        },
      );
    }
    const text = typeof response.data === 'string' ? response.data : String(response.data);
    let result: unknown;
    try {
      result = await codec.deserialize(text);
    } catch (error) {
      const fault = error as { faultCode?: unknown; faultString?: unknown; message?: string };
      if (typeof fault.faultCode === 'number' || typeof fault.faultString === 'string') {
        const code = Number(fault.faultCode);
        throw new LogticketsError(
          code === 403 ? 'PERMISSION_DENIED' : 'TRACKER_FAULT',
          `${method}: Trac fault ${code}: ${String(fault.faultString ?? '')}`,
          { backend: this.options.name, faultCode: code, cause: error, secrets: this.#secrets },
        );
      }
      throw new LogticketsError(
        'PROTOCOL_ERROR',
        `${method}: the answer is not XML-RPC (${fault.message ?? String(error)}): ${snippet(text, this.#secrets)}`,
        {
          backend: this.options.name,
          cause: error,
          status,
          secrets: this.#secrets,
        },
      );
    }
    return result as T;
  }

  /**
   * Several calls in one request (`system.multicall`), answered in order: a
   * value, or a fault of that call alone as a TRACKER_FAULT error. A failure
   * of the request as a whole is thrown as `call` throws it. No calls: no
   * request.
   *
   * The standard answer to a failed call is a struct `{ faultCode,
   * faultString }`, and the fault then keeps its `faultCode`. Trac's XML-RPC
   * plugin (1.2) sends instead the attributes of the exception raised (a
   * struct with `_message` and `title`, or an empty one), which name no
   * code: such a fault has no `faultCode`, and a caller who needs to know
   * (a 404?) makes that call alone. That plugin also fails the whole request
   * (HTTP 500) when one call is refused a permission.
   */
  async multicall<T = unknown>(
    calls: readonly XmlRpcCall[],
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Array<MulticallResult<T>>> {
    if (calls.length === 0) return [];
    const what = `system.multicall(${[...new Set(calls.map((c) => c.method))].join(', ')})`;
    const answers = await this.call<unknown>(
      'system.multicall',
      [calls.map((c) => ({ methodName: c.method, params: [...c.params] }))],
      options,
    );
    if (!Array.isArray(answers) || answers.length !== calls.length) {
      const got = Array.isArray(answers) ? answers.length : typeof answers;
      throw new LogticketsError('PROTOCOL_ERROR', `${what}: expected ${calls.length} answers, got ${got}`, {
        backend: this.options.name,
      });
    }
    return answers.map((answer: unknown, i): MulticallResult<T> => {
      const method = calls[i]!.method;
      if (Array.isArray(answer) && answer.length === 1) return { ok: true, value: answer[0] as T };
      if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) {
        throw new LogticketsError(
          'PROTOCOL_ERROR',
          `${what}: answer ${i + 1} (${method}) is neither a value nor a fault`,
          {
            backend: this.options.name,
          },
        );
      }
      const fault = answer as Record<string, unknown>;
      const code = fault.faultCode === undefined ? undefined : Number(fault.faultCode);
      const detail = [fault.faultString ?? fault._message ?? fault.message, fault.title]
        .filter((x): x is string => typeof x === 'string' && x !== '')
        .join(' — ');
      return {
        ok: false,
        fault: new LogticketsError(
          'TRACKER_FAULT',
          `${method}: Trac fault${code === undefined ? '' : ` ${code}`}: ${detail || '(no detail given)'}`,
          { backend: this.options.name, ...(code === undefined ? {} : { faultCode: code }), secrets: this.#secrets },
        ),
      };
    });
  }
}

async function openTransport(options: XmlRpcClientOptions): Promise<Transport> {
  const [{ default: axios }, { Agent: HttpAgent }, { Agent: HttpsAgent }, codec] = await Promise.all([
    import('axios'),
    import('node:http'),
    import('node:https'),
    import('./xmlrpc-codec.js'),
  ]);
  const tls = options.tls ?? {};
  const http = axios.create({
    baseURL: options.url,
    timeout: options.timeoutMs ?? 15_000,
    auth: options.username === undefined ? undefined : { username: options.username, password: options.password ?? '' },
    headers: { 'Content-Type': 'text/xml; charset=utf-8', Accept: 'text/xml' },
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    validateStatus: () => true,
    maxRedirects: 0,
    proxy: options.proxy,
    httpAgent: new HttpAgent({ keepAlive: false }),
    httpsAgent: new HttpsAgent({ keepAlive: false, ca: tls.ca, rejectUnauthorized: tls.rejectUnauthorized ?? true }),
  });
  return { http, codec };
}

/**
 * The start of an answer that was not XML-RPC, for the error message: masked
 * before it is cut (a credential cut in half would no longer be recognised),
 * with XML entities read first (a password echoed as `p&amp;ss` is still the password).
 */
function snippet(text: string, secrets: SecretMatchers): string {
  const plain = text.replace(
    /&(amp|lt|gt|quot|apos);/g,
    (_m, name: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[name] ?? '',
  );
  return redactSecrets(maskSecrets(plain), secrets).slice(0, 120);
}
