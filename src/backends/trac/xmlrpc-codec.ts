/**
 * The XML of XML-RPC as Trac speaks it: the `xmlrpc` package's serializer
 * and deserializer, with every date in UTC both ways (see xmlrpc-client.ts
 * for why). Loaded by the client on its first call only: the serializer and
 * the XML parser it brings cost a process that never talks to Trac about
 * 25 ms and 8 MB.
 */

import { PassThrough } from 'node:stream';
import CustomType from 'xmlrpc/lib/customtype.js';
import Deserializer from 'xmlrpc/lib/deserializer.js';
import serializer from 'xmlrpc/lib/serializer.js';
import { parseTracDate } from './xmlrpc-client.js';

/** A date written as Trac reads one: UTC, without a zone (`20240115T12:00:00`). */
class UtcDateTime extends CustomType {
  constructor(date: Date) {
    super(
      date
        .toISOString()
        .replace(/\.\d+Z$/, '')
        .replace(/-/g, ''),
    );
  }
}
UtcDateTime.prototype.tagName = 'dateTime.iso8601';

/** What goes on the wire: every date in UTC. */
function wireValue(value: unknown): unknown {
  if (value instanceof Date) return new UtcDateTime(value);
  if (Array.isArray(value)) return value.map(wireValue);
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, wireValue(v)]));
  }
  return value;
}

/** The request body of a call; `params` already hold only what XML can carry (`xmlSafe`). */
export function serializeCall(method: string, params: readonly unknown[]): string {
  return serializer.serializeMethodCall(method, wireValue(params) as unknown[], 'UTF-8');
}

class UtcDeserializer extends Deserializer {
  endDateTime(data: string): void {
    this.push(parseTracDate(data));
    this.value = false;
  }
}

/** The value of a method response; rejects with the fault (`faultCode`, `faultString`) of a fault response. */
export function deserialize(body: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const stream = new PassThrough();
    new UtcDeserializer('utf8').deserializeMethodResponse(stream, (error, result) =>
      error ? reject(error) : resolve(result),
    );
    stream.end(body);
  });
}
