/**
 * Reading MongoDB URIs (`mongodb://…`, `mongodb+srv://…`) at construction, so a
 * malformed one is a clear error before anything connects. The driver's own
 * parser library is used; the driver itself loads only when a backend opens.
 * That library (with the WHATWG URL parser it brings, about 40 ms and 10 MB)
 * is loaded on the first URI read, not with logtickets: it is required, as a
 * backend's constructor reads its URI synchronously.
 */

import { createRequire } from 'node:module';
import type { ConnectionString } from 'mongodb-connection-string-url';
import { LogticketsError, uriForMessage, uriSecrets } from '../../errors.js';

// For packages loaded on first use by synchronous code (see above).
const require = createRequire(import.meta.url);

export interface MongoTarget {
  /** Credential-free, for stats and messages. */
  readonly name: string;
  /** The database named in the URI path, if any. */
  readonly database: string | undefined;
}

export function isMongoUri(uri: string): boolean {
  return /^mongodb(\+srv)?:\/\//i.test(uri);
}

export function parseMongoUri(uri: string): MongoTarget {
  const parser = require('mongodb-connection-string-url') as typeof import('mongodb-connection-string-url');
  let parsed: ConnectionString;
  try {
    parsed = new parser.ConnectionString(uri);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new LogticketsError('INVALID_URI', `store URI ${uriForMessage(uri)} is not a valid MongoDB URI: ${why}`, {
      secrets: uriSecrets(uri),
    });
  }
  for (const host of parsed.hosts) {
    if (!/^(\[[0-9A-Fa-f:.]+\]|[^\s/?#@[\]:]+)(:\d+)?$/.test(host)) {
      throw new LogticketsError(
        'INVALID_URI',
        `store URI ${uriForMessage(uri)} is not a valid MongoDB URI: bad host ${JSON.stringify(host)}`,
      );
    }
    const port = /:(\d+)$/.exec(host)?.[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
      throw new LogticketsError(
        'INVALID_URI',
        `store URI ${uriForMessage(uri)} is not a valid MongoDB URI: port ${port} is out of range`,
      );
    }
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || undefined;
  const scheme = parsed.isSRV ? 'mongodb+srv' : 'mongodb';
  return { name: `${scheme}://${parsed.hosts.join(',')}/${database ?? ''}`, database };
}
