/**
 * Reading MongoDB URIs (`mongodb://…`, `mongodb+srv://…`) at construction, so a
 * malformed one is a clear error before anything connects. The driver's own
 * parser library is used; the driver itself loads only when a backend opens.
 */

import { ConnectionString } from 'mongodb-connection-string-url';
import { LogticketsError, uriForMessage, uriSecrets } from '../../errors.js';

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
  let parsed: ConnectionString;
  try {
    parsed = new ConnectionString(uri);
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
