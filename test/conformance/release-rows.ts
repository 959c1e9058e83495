/**
 * The releases a store keeps, read from outside logtickets with the drivers
 * themselves (each store keeps them in its own `releases` table or
 * collection): what the conformance cases check after concurrent writers.
 */

import Database from 'better-sqlite3';
import { MongoClient } from 'mongodb';
import pg from 'pg';

export interface ReleaseRow {
  readonly appId: string;
  readonly release: string;
  readonly firstSeen: string;
}

const iso = (value: unknown): string => (value instanceof Date ? value : new Date(String(value))).toISOString();

/** Every release row of the store a child process reaches with `uri` and `prefix`, sorted. */
export async function releaseRows(store: { readonly uri: string; readonly prefix?: string }): Promise<ReleaseRow[]> {
  const table = `${store.prefix ?? 'logtickets_'}releases`;
  let rows: ReleaseRow[];
  if (store.uri.startsWith('sqlite:')) {
    const db = new Database(store.uri.slice('sqlite:'.length), { readonly: true });
    try {
      rows = db
        .prepare<[], { app_id: string; release: string; first_seen: string }>(
          `select app_id, release, first_seen from "${table}"`,
        )
        .all()
        .map((r) => ({ appId: r.app_id, release: r.release, firstSeen: iso(r.first_seen) }));
    } finally {
      db.close();
    }
  } else if (store.uri.startsWith('postgres')) {
    const client = new pg.Client({ connectionString: store.uri });
    await client.connect();
    try {
      const result = await client.query<{ app_id: string; release: string; first_seen: Date }>(
        `select app_id, release, first_seen from "${table}"`,
      );
      rows = result.rows.map((r) => ({ appId: r.app_id, release: r.release, firstSeen: iso(r.first_seen) }));
    } finally {
      await client.end();
    }
  } else {
    const client = new MongoClient(store.uri);
    try {
      const docs = await client.db().collection(table).find().toArray();
      rows = docs.map((d) => ({ appId: String(d.appId), release: String(d.release), firstSeen: iso(d.firstSeen) }));
    } finally {
      await client.close();
    }
  }
  return rows.sort((x, y) => (x.appId + '\u0000' + x.release < y.appId + '\u0000' + y.release ? -1 : 1));
}
