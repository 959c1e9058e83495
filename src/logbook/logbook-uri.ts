/**
 * Where a Logbook ticketing store is, as a Logbook user names it: the
 * SQLAlchemy URI of their TicketingHandler (`sqlite:////abs/file.db`,
 * `sqlite:///relative.db`, `postgresql+psycopg2://user:pw@host/db`), the
 * forms logtickets itself takes (`sqlite:PATH`, `sqlite:///ABS/PATH`,
 * `postgres://…`), or a plain file path.
 *
 * `sqlite:///x.db` means `x.db` relative to the working directory to
 * SQLAlchemy but `/x.db` to logtickets: the file that exists wins, the
 * absolute one when both or neither do. Passwords never reach a message.
 */

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { LogticketsError, uriForMessage, uriSecrets } from '../errors.js';

export type LogbookTarget =
  | { readonly kind: 'sqlite'; readonly path: string; readonly name: string }
  | {
      readonly kind: 'postgres';
      readonly connectionString: string;
      readonly name: string;
      /** The password and user:password of the URI, for masking. */
      readonly secrets: readonly string[];
    };

const EXPECTED = 'expected a Logbook store: sqlite:///PATH, a file path, or postgresql://…';

/** Table name prefixes the readers accept (they are put into SQL, quoted). */
export const LOGBOOK_PREFIX = /^[A-Za-z0-9_]*$/;

export function parseLogbookUri(uri: string, cwd: string = process.cwd()): LogbookTarget {
  const text = uri.trim();
  if (text === '') throw new LogticketsError('INVALID_URI', `--from is empty: ${EXPECTED}`);
  const scheme = /^([a-z][a-z0-9.-]*)(\+[a-z0-9_.-]+)?:/i.exec(text);
  // `C:\logs\tickets.db` is a Windows path, not a URI of scheme "c".
  if (scheme === null || /^[a-z]:[\\/]/i.test(text)) return sqliteTarget(resolve(cwd, text));
  const name = scheme[1]!.toLowerCase();
  const rest = text.slice(scheme[0].length);
  if (name === 'sqlite') return sqliteTarget(sqlitePath(rest, cwd, text));
  if (name === 'postgres' || name === 'postgresql') return postgresTarget(`postgresql:${rest}`, text);
  if (name === 'file') return sqliteTarget(resolve(cwd, decodeURIComponent(rest.replace(/^\/\/(localhost)?/, ''))));
  throw new LogticketsError('INVALID_URI', `--from ${uriForMessage(text)}: ${EXPECTED}`);
}

function sqlitePath(rest: string, cwd: string, uri: string): string {
  // SQLAlchemy's `?mode=ro` and the like name no part of the path.
  const path = rest.replace(/\?.*$/, '');
  if (path === '' || path === '//' || path === '///' || /:memory:/.test(path)) {
    throw new LogticketsError('INVALID_URI', `--from ${uriForMessage(uri)} names no file: ${EXPECTED}`);
  }
  if (path.startsWith('////')) return path.slice(3);
  if (!path.startsWith('///')) return resolve(cwd, path.replace(/^\/\//, ''));
  const absolute = path.slice(2);
  const relative = resolve(cwd, path.slice(3));
  return !existsSync(absolute) && existsSync(relative) ? relative : absolute;
}

function sqliteTarget(path: string): LogbookTarget {
  return { kind: 'sqlite', path, name: `sqlite:${path}` };
}

function postgresTarget(connectionString: string, given: string): LogbookTarget {
  let parsed: URL;
  try {
    parsed = new URL(connectionString);
  } catch {
    throw new LogticketsError('INVALID_URI', `--from ${uriForMessage(given)} is not a valid postgresql:// URL`);
  }
  const db = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const name = `postgres://${parsed.hostname || 'localhost'}${parsed.port ? `:${parsed.port}` : ''}/${db}`;
  return { kind: 'postgres', connectionString, name, secrets: uriSecrets(given) };
}
