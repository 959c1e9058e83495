/**
 * Reading the store URIs the SQL backend accepts:
 * `sqlite:PATH`, `sqlite:///ABSOLUTE/PATH`, `sqlite::memory:` and
 * `postgres://…` / `postgresql://…`.
 */

import { resolve } from 'node:path';
import { LogticketsError, uriForMessage } from '../../errors.js';

export type SqlTarget =
  | { readonly dialect: 'sqlite'; readonly path: string; readonly name: string }
  | { readonly dialect: 'postgres'; readonly connectionString: string; readonly name: string };

export function isSqlUri(uri: string): boolean {
  return /^(sqlite:|postgres:\/\/|postgresql:\/\/)/i.test(uri);
}

export function parseSqlUri(uri: string): SqlTarget {
  if (typeof uri !== 'string' || uri.trim() === '') {
    throw new LogticketsError('INVALID_URI', 'store URI must be a non-empty string');
  }
  if (/^sqlite:/i.test(uri)) {
    let path = uri.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2); // sqlite:///abs/path → /abs/path
    if (path === '') {
      throw new LogticketsError(
        'INVALID_URI',
        `store URI ${uriForMessage(uri)} names no file: use sqlite:PATH or sqlite::memory:`,
      );
    }
    // Named by absolute path: the same file written two ways is one store (a tracker's store listed again is refused).
    return { dialect: 'sqlite', path, name: path === ':memory:' ? 'sqlite::memory:' : `sqlite:${resolve(path)}` };
  }
  if (/^postgres(ql)?:\/\//i.test(uri)) {
    let parsed: URL;
    try {
      parsed = new URL(uri);
    } catch {
      throw new LogticketsError('INVALID_URI', `store URI ${uriForMessage(uri)} is not a valid postgres:// URL`);
    }
    const db = parsed.pathname.replace(/^\//, '');
    const name = `postgres://${parsed.hostname || 'localhost'}${parsed.port ? `:${parsed.port}` : ''}/${db}`;
    return { dialect: 'postgres', connectionString: uri, name };
  }
  throw new LogticketsError('UNSUPPORTED_URI', `not an SQL store URI: ${uriForMessage(uri)}`);
}
