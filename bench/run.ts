/**
 * `npm run bench`: every scenario in one run, figures and ratios side by side.
 *
 *   (a) cost of a log call with a TicketingHandler vs pino      target ≤ 3× pino
 *   (b) ingest into SQLite and PostgreSQL, batched vs naive     target ≥ 50 000 occ/s into SQLite, ≥ 20× naive
 *   (c) ingest into MongoDB, batched vs naive                   target ≥ 10× naive
 *   (d) a flood of 10,000 occurrences of 5 problems to Trac     target ≤ 2 calls per ticket per comment window
 *   (e) a burst of 10,000 occurrences of 20 problems to GitHub  target: within the write budget, ≤ 2 calls per issue per window
 *
 * PostgreSQL and MongoDB (FerretDB) are throwaway servers started by the test harness's scripts.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMongo } from '../test/services/mongodb/mongo-server.js';
import { startPostgres } from '../test/services/postgres.js';
import { ingest } from './ingest.js';
import { logCall } from './log-call.js';
import { githubDelivery } from './github-delivery.js';
import { tracDelivery } from './trac-delivery.js';
import type { Figure } from './measure.js';

const figures: Figure[] = [];
const dir = mkdtempSync(join(tmpdir(), 'logtickets-bench-'));
let files = 0;
try {
  figures.push(...(await logCall(40)));
  figures.push(
    ...(await ingest('SQLite file', () => `sqlite:${join(dir, `bench-${files++}.db`)}`, {
      batched: 100_000,
      naive: 5_000,
    })),
  );
  const postgres = await startPostgres();
  try {
    figures.push(...(await ingest('PostgreSQL', () => postgres.url, { batched: 50_000, naive: 2_000, prefix: 'b' })));
  } finally {
    await postgres.stop();
  }
  const mongo = await startMongo();
  try {
    figures.push(
      ...(await ingest('MongoDB (FerretDB)', () => `${mongo.url.replace(/\/?$/, '/')}bench${files++}`, {
        batched: 20_000,
        naive: 1_000,
        target: 10,
      })),
    );
  } finally {
    await mongo.stop();
  }
  figures.push(...(await tracDelivery()));
  figures.push(...(await githubDelivery()));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const rows = figures.map((f) => [
  f.scenario,
  f.subject,
  `${f.value >= 100 ? Math.round(f.value).toLocaleString('en-US') : f.value.toFixed(2)} ${f.unit}`,
  f.ratio === undefined
    ? ''
    : `${f.ratio.value.toFixed(2)} ${f.ratio.label} (target ${f.ratio.target}: ${f.ratio.met ? 'met' : 'MISSED'})`,
  f.note ?? '',
]);
const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const row of rows)
  console.log(
    row
      .map((cell, i) => (i < 4 ? cell.padEnd(widths[i]!) : cell))
      .join('  ')
      .trimEnd(),
  );
const sqliteBatched = figures.find((f) => f.scenario === 'ingest SQLite file' && f.subject.startsWith('batched'));
console.log(
  `\nSQLite batched ingest: ${Math.round(sqliteBatched?.value ?? 0).toLocaleString('en-US')} occ/s (target ≥ 50,000: ${(sqliteBatched?.value ?? 0) >= 50_000 ? 'met' : 'MISSED'})`,
);
console.log(`Node ${process.version}, ${process.platform}/${process.arch}`);
