/**
 * Tracker suite cases for two-way sync in a fleet: replicas of a service in
 * separate OS processes share one SQLite store and one tracker (Trac, the
 * GitHub stand-in). A person's change in the tracker is learned by whichever
 * replica delivers, once, and no replica echoes it; a state change queued by
 * the CLI is carried out by the fleet; a regression logged by several
 * replicas while the tracker is down reopens its ticket once when it is back.
 */

import { changeState } from '../../src/backends/tracker/state-change.js';
import { hash } from './backend-suite.js';
import { startReplica, until } from './fleet-replicas.js';
import { counted, fleet, toldOnce } from './tracker-fleet-cases.js';
import { APP, statedCount, type Case } from './tracker-suite.js';

export const fleetSyncCases: Case[] = [
  [
    "replicas learn a person's change in the tracker once, never echo it, and carry out the CLI's change",
    async (t, w) => {
      const f = await fleet(t, w);
      const problem = hash();
      const name = w.subject.tracker().name;
      const replicas = [0, 1, 2].map(() =>
        startReplica(f.job({ problems: [problem], then: 'stay', syncIntervalMs: 200 })),
      );
      t.teardown(() => replicas.forEach((r) => r.kill()));
      await Promise.all(replicas.map((r) => r.written));
      const key = { tracker: name, appId: APP, hash: problem };
      await until(async () => (await f.store.getLink(key))?.externalId != null, 'the ticket was made');
      await until(async () => (await f.store.countOutbox()) === 0, 'the fleet delivered');
      const id = (await f.store.getLink(key))!.externalId!;
      const [ticket] = await f.store.getTickets({ filter: { hash: problem } });
      await w.subject.close(id, 'solved');
      await until(async () => (await f.store.getTicket(ticket!.id))!.state === 'solved', 'the store learned it');
      const learned = await f.store.getTicket(ticket!.id);
      const writes = w.subject.writes();
      const requests = w.subject.requests();
      // Several more polls by the lease holder (each asks the tracker), whichever replica it is.
      await until(() => w.subject.requests() >= requests + 4, 'more polls');
      t.is(w.subject.writes(), writes, 'no replica wrote the change back');
      t.is((await f.store.getTicket(ticket!.id))!.stateChangedAt, learned!.stateChangedAt, 'learned once');
      // What `logtickets reopen` does with the config's tracker names: the fleet carries it out.
      await changeState(f.store, [name], ticket!.id, 'open');
      await until(async () => (await w.subject.view(id)).state === 'open', 'a replica reopened it');
      const afterReopen = w.subject.writes();
      const again = w.subject.requests();
      await until(() => w.subject.requests() >= again + 4, 'more polls');
      t.is((await f.store.getTicket(ticket!.id))!.state, 'open');
      t.is(w.subject.writes(), afterReopen, 'the reopen was not echoed back either');
      t.is(afterReopen - writes, 1, 'one write carried the reopen out');
    },
  ],
  [
    'a regression logged by three replicas while the tracker is down reopens its ticket once when it is back',
    async (t, w) => {
      const f = await fleet(t, w);
      const problem = hash();
      const name = w.subject.tracker().name;
      const first = startReplica(f.job({ problems: [problem], occurrences: 2, then: 'deliver' }));
      t.true((await first.result).delivered);
      const [ticket] = await f.store.getTickets({ filter: { hash: problem } });
      await changeState(f.store, [name], ticket!.id, 'solved');
      const cli = f.sync();
      t.true(await cli.deliverPending({ timeoutMs: 30_000 }));
      const id = (await f.store.getLink({ tracker: name, appId: APP, hash: problem }))!.externalId!;
      t.is((await w.subject.view(id)).state, 'closed');
      w.subject.down(true);
      const replicas = [0, 1, 2].map(() =>
        startReplica(
          f.job({
            problems: [problem],
            occurrences: 3,
            batches: 3,
            then: 'deliver',
            timeoutMs: 1_000,
            regressionGraceMs: 0,
          }),
        ),
      );
      for (const r of replicas) t.false((await r.result).delivered, 'the tracker is down');
      const regressed = (await f.store.getTicket(ticket!.id))!;
      t.is(regressed.state, 'regressed');
      t.is(regressed.regressionCount, 1, 'one regression for nine occurrences from three processes');
      t.is(regressed.occurrenceCount, 11);
      w.subject.down(false);
      t.true(await cli.deliverPending({ timeoutMs: 30_000, retryNow: true }));
      const view = await w.subject.view(id);
      t.is(view.state, 'open');
      t.is(view.comments.filter((c) => /Regression:/.test(c)).length, 1, 'reopened once');
      t.is(statedCount(view), await counted(f.store, problem));
      await toldOnce(t, w, f.store, [problem]);
    },
  ],
];
