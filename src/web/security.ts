/**
 * What keeps the dashboard safe by default:
 * - It binds loopback. Any other address needs a token, and then every
 *   request must carry it: `Authorization: Bearer TOKEN`, or the cookie a
 *   browser gets by opening any page once with `?token=TOKEN`. Tokens are
 *   compared as SHA-256 digests with `timingSafeEqual` (constant time), and
 *   the cookie holds a digest, never the token.
 * - On loopback without a token, the Host header must name loopback, so a
 *   web page that rebinds its own name to 127.0.0.1 cannot read it.
 * - Writes (`--allow-writes`) need the page's CSRF token in a header and a
 *   same-origin request; a cross-site page can neither read the token nor
 *   send the header without a preflight the server refuses.
 * - Every answer has a strict Content-Security-Policy (scripts and styles
 *   from the dashboard itself only, nothing inline) and headers that keep it
 *   out of frames and caches.
 */

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export const TOKEN_COOKIE = 'logtickets_session';

export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export class TokenCheck {
  private readonly tokenDigest: Buffer;
  /** What the session cookie holds: a digest of the token, not the token. */
  readonly sessionValue: string;
  private readonly sessionDigest: Buffer;

  constructor(token: string) {
    this.tokenDigest = digest(token);
    this.sessionValue = createHash('sha256').update(`logtickets-session\0${token}`).digest('hex');
    this.sessionDigest = digest(this.sessionValue);
  }

  /** Whether `candidate` is the token, in constant time. */
  matches(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.tokenDigest);
  }

  /** Whether the request carries the token (header) or the session cookie. */
  allows(request: IncomingMessage): boolean {
    const header = request.headers.authorization;
    if (typeof header === 'string' && /^Bearer /i.test(header) && this.matches(header.slice(7).trim())) return true;
    const cookie = cookieValue(request, TOKEN_COOKIE);
    return cookie !== undefined && timingSafeEqual(digest(cookie), this.sessionDigest);
  }
}

export function cookieValue(request: IncomingMessage, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A fresh CSRF token for a server's lifetime. */
export function csrfToken(): string {
  return randomBytes(32).toString('hex');
}

export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** The Host names a loopback server answers to (its own address and localhost, with its port). */
export function loopbackHostAllowed(hostHeader: string | undefined, port: number): boolean {
  if (hostHeader === undefined) return false;
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostHeader.trim().toLowerCase());
  if (match === null) return false;
  return isLoopback(match[1]!) && (match[2] === undefined ? port === 80 : Number(match[2]) === port);
}

export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export const COMMON_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};
