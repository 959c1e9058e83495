/**
 * Scenario (e): a GitHub fleet. Four replicas of a service, each its own OS
 * process with a TicketingHandler over a TrackedStore on one shared SQLite
 * file, log a burst of 10,000 occurrences in all (2,500 each) across the same
 * 20 problems, to the GitHub stand-in with GitHub's default pacing (writes
 * 1 s apart, notifying writes 3 s apart), the default write budget (80 a
 * minute, 500 an hour) and a 30 s comment window. The bench waits until the
 * shared outbox is empty, then sets what GitHub saw next to what the fleet
 * would do without the store's shared limits.
 *
 * Targets: at most 80 writes in any 60 s (one budget for the fleet, not 80
 * per process) and within 500 an hour; at most 2 calls per issue per comment
 * window; the counts stated in GitHub equal the store's; no OpenAPI violation.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GITHUB_WRITE_BUDGET } from '../src/index.js';
import { startGitHub, type GitHubStandIn } from '../test/services/github/github-server.js';
import { deliveredBy, openShared, startFleet, type FleetJob } from './fleet.js';
import type { Figure } from './measure.js';
import { OutboxWatch } from './outbox-watch.js';
import { checkCounts, countsFigure, type TicketText } from './stated-counts.js';

const REPLICAS = 4;
const OCCURRENCES = 10_000;
const PROBLEMS = 20;
const WINDOW_MS = 30_000;
const TIMEOUT_MS = 900_000;
const SCENARIO = 'GitHub fleet';

export async function githubFleet(): Promise<Figure[]> {
  const github = await startGitHub();
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-bench-github-fleet-'));
  const uri = `sqlite:${join(dir, 'store.db')}`;
  const store = await openShared(uri);
  const job: FleetJob = {
    store: uri,
    tracker: { type: 'github', baseUrl: github.url, owner: github.owner, repo: github.repo, token: github.token },
    problems: PROBLEMS,
    occurrences: OCCURRENCES / REPLICAS,
    floodMs: 0,
    commentIntervalMs: WINDOW_MS,
    pollIntervalMs: 200,
  };
  const fleet = startFleet(Array.from({ length: REPLICAS }, () => job));
  const watch = new OutboxWatch(store).start();
  try {
    await fleet.ready;
    const started = Date.now();
    fleet.go();
    await fleet.written;
    const emptyAt = await watch.untilEmpty(TIMEOUT_MS);
    const elapsed = (emptyAt ?? Date.now()) - started;
    const reports = await fleet.close();
    await watch.stop();

    const writes = github.calls
      .filter((c) => c.method !== 'GET')
      .map((c) => c.at)
      .sort((a, b) => a - b);
    const [minute, hour] = GITHUB_WRITE_BUDGET.map((w) => ({ ...w, most: mostInWindow(writes, w.perMs) }));
    const calls = github.calls.length;
    const windows = Math.ceil(elapsed / WINDOW_MS);
    const perIssueWindow = calls / (PROBLEMS * windows);
    const counts = await checkCounts(store, async (hash) => issuesOf(github, hash));
    const violations = github.violations.length;
    const perProcess = REPLICAS * minute!.writes;
    return [
      {
        scenario: SCENARIO,
        subject: `${REPLICAS} processes, each with its own ${minute!.writes}/min budget (peer)`,
        value: perProcess,
        unit: 'writes/60 s',
        note: 'what per-process budgets would allow the fleet',
      },
      {
        scenario: SCENARIO,
        subject: `logtickets, ${REPLICAS} replicas, one budget in the store: busiest 60 s`,
        value: minute!.most,
        unit: 'writes/60 s',
        ratio: {
          value: minute!.most,
          label: 'writes in the busiest 60 s',
          target: `≤ ${minute!.writes}`,
          met: minute!.most <= minute!.writes && hour!.most <= hour!.writes,
        },
        note: `busiest hour ${hour!.most} writes (${hour!.most <= hour!.writes ? 'within' : 'OVER'} ${hour!.writes}/h); ${writes.length} writes in all, by one lease holder at a time, which GitHub's 3 s pacing of notifying writes keeps near 20/min`,
      },
      { scenario: SCENARIO, subject: 'one call per occurrence (naive)', value: OCCURRENCES, unit: 'calls' },
      {
        scenario: SCENARIO,
        subject: `logtickets (${PROBLEMS} problems, ${WINDOW_MS / 1000} s comment window)`,
        value: calls,
        unit: 'calls',
        ratio: { value: perIssueWindow, label: 'calls per issue per window', target: '≤ 2', met: perIssueWindow <= 2 },
        note: `${calls - writes.length} reads, ${writes.length} writes over ${windows} windows`,
      },
      {
        scenario: SCENARIO,
        subject: `time until all ${OCCURRENCES.toLocaleString('en-US')} delivered`,
        value: elapsed / 1000,
        unit: 's',
        note: `${emptyAt === undefined ? 'NOT all delivered; ' : ''}writes paced by GitHub's guidance (1 s, 3 s when notifying); ${deliveredBy(reports)}`,
      },
      countsFigure(SCENARIO, 'occurrences stated in GitHub (issue bodies and comments)', counts, 'GitHub'),
      {
        scenario: SCENARIO,
        subject: "requests breaking GitHub's OpenAPI description",
        value: violations,
        unit: 'violations',
        ratio: { value: violations, label: 'violations', target: '0', met: violations === 0 },
      },
    ];
  } finally {
    fleet.kill();
    await watch.stop();
    await store.close();
    await github.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The most of `times` (sorted) falling in any window of `perMs`. */
export function mostInWindow(times: readonly number[], perMs: number): number {
  let most = 0;
  for (let start = 0, end = 0; start < times.length; start++) {
    while (end < times.length && times[end]! < times[start]! + perMs) end++;
    most = Math.max(most, end - start);
  }
  return most;
}

function issuesOf(github: GitHubStandIn, hash: string): TicketText[] {
  return github
    .issues()
    .filter((i) => (i.body ?? '').includes(`<!-- logtickets:fingerprint=${hash} -->`))
    .map((i) => ({ description: i.body ?? '', comments: i.comments.map((c) => c.body) }));
}
