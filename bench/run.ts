/**
 * `npm run bench`: every scenario in one run, figures and ratios side by side.
 *
 *   (a) cost of a log call with a TicketingHandler vs pino      target ≤ 1.0× pino; with the queue full
 *       (a dead store) vs the normal call: target ≤ 1.5×; the same again on Node 24, the LTS users run
 *   (a2) `import('logtickets')` for a SQLite user vs `import('pino')`: target ≤ 4× the time, ≤ 25 MB
 *   (a4) breadcrumbs: an INFO call below the handler's level with breadcrumbs on (40) vs off
 *       (`breadcrumbs: 0`) vs pino's `logger.info` → /dev/null; target: adding one ≤ 1 µs per record
 *   (a3) a steady service, one error per event-loop turn, into the default SQLite store and into
 *       PostgreSQL: event-loop µs per error vs pino → /dev/null, target ≤ 3×; event-loop delay p99
 *   (b) ingest into SQLite and PostgreSQL, batched vs naive     target ≥ 50 000 occ/s into SQLite, ≥ 20× naive
 *   (c) ingest into MongoDB, batched vs naive                   target ≥ 10× naive
 *   (d) a Trac fleet: 4 replica processes sharing one SQLite store flood 10,000 occurrences of 5 problems
 *       while Trac is cut off for 10 s. Targets: one attempt per backoff step while Trac is down (not one
 *       per batch), at most 2 outbox rows per problem, the counts told to Trac equal to the store's
 *   (e) a GitHub fleet: 4 replica processes sharing one SQLite store log a burst of 10,000 occurrences of
 *       20 problems. Targets: ≤ 80 writes in any 60 s for the whole fleet (not 80 per process) and within
 *       500/h, ≤ 2 calls per issue per comment window, the counts stated in GitHub equal to the store's,
 *       no OpenAPI violation
 *   (b2) the whole pipeline (logger → handler → SQLite) next to Python Logbook's TicketingHandler on
 *       the same calls: target ≥ 100,000 occ/s
 *   (b3) RSS growth over a 1,000,000-record flood with a dead tracker: target ≤ 100 MB, counts exact
 *   (f) two-way sync with 1,000 linked tickets in Trac and in GitHub: tracker requests of one poll after
 *       10 changes (target ≤ 2), and the lag from a person's close in the tracker to the store (target
 *       ≤ poll interval + 2 s)
 *
 * `npm run bench` builds first: the import cost is measured on dist/, and the SQLite worker thread
 * starts from there. PostgreSQL and MongoDB (FerretDB) are throwaway servers started by the test harness's scripts; the
 * fleets' replicas are OS processes (bench/fleet-replica.ts) driven by bench/fleet.ts.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMongo } from '../test/services/mongodb/mongo-server.js';
import { startPostgres } from '../test/services/postgres.js';
import { breadcrumbCost, breadcrumbTargetLine } from './breadcrumbs.js';
import { floodMemory } from './flood-memory.js';
import { importCost } from './import-cost.js';
import { ingest } from './ingest.js';
import { logbookPeer } from './logbook-peer.js';
import { logCall } from './log-call.js';
import { logCallOn } from './other-node.js';
import { steadyService } from './steady.js';
import { githubFleet } from './fleet-github.js';
import { tracFleet } from './fleet-trac.js';
import { syncScenario } from './sync.js';
import { printFigures, type Figure } from './measure.js';

const figures: Figure[] = [];
const dir = mkdtempSync(join(tmpdir(), 'logtickets-bench-'));
let files = 0;
try {
  figures.push(...(await logCall(40)));
  figures.push(...(await logCallOn(24, 40)));
  figures.push(...(await breadcrumbCost(40)));
  figures.push(...(await importCost()));
  figures.push(
    ...(await ingest('SQLite file', () => `sqlite:${join(dir, `bench-${files++}.db`)}`, {
      batched: 100_000,
      naive: 5_000,
    })),
  );
  const postgres = await startPostgres();
  try {
    figures.push(...(await steadyService(postgres.url)));
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
  figures.push(...(await logbookPeer()));
  figures.push(...(await floodMemory()));
  figures.push(...(await tracFleet()));
  figures.push(...(await githubFleet()));
  figures.push(...(await syncScenario()));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

printFigures(figures);
const sqliteBatched = figures.find((f) => f.scenario === 'ingest SQLite file' && f.subject.startsWith('batched'));
console.log(
  `\nSQLite batched ingest: ${Math.round(sqliteBatched?.value ?? 0).toLocaleString('en-US')} occ/s (target ≥ 50,000: ${(sqliteBatched?.value ?? 0) >= 50_000 ? 'met' : 'MISSED'})`,
);
console.log(breadcrumbTargetLine(figures));
console.log(`Node ${process.version}, ${process.platform}/${process.arch}`);
