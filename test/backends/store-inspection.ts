/** Looking into a store from outside logtickets, with the drivers themselves: what exists of it. */

import { MongoClient } from 'mongodb';
import pg from 'pg';

/** PostgreSQL relations (tables, indexes, sequences) whose name starts with `prefix`. */
export async function relationsWithPrefix(url: string, prefix: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ relname: string }>(
      `select relname from pg_class where starts_with(relname, $1) order by relname`,
      [prefix],
    );
    return rows.map((r) => r.relname);
  } finally {
    await client.end();
  }
}

/** The collections of a MongoDB database (none when it does not exist). */
export async function collectionsOf(url: string, database: string): Promise<string[]> {
  const client = new MongoClient(url);
  try {
    const found = await client.db(database).listCollections({}, { nameOnly: true }).toArray();
    return found.map((c) => String(c.name)).sort();
  } finally {
    await client.close();
  }
}
