/**
 * Scenario (e): a burst of 10,000 occurrences across 20 problems to the
 * GitHub stand-in, with GitHub's own pacing (writes 1 s apart, notifying
 * writes 3 s apart) and the default write budget. Counts the API calls made
 * next to one per occurrence, checks no budget window was exceeded, and
 * times the delivery. Target: within the budget, at most 2 calls per issue
 * per comment window.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GITHUB_WRITE_BUDGET, GitHubTracker, Logger, TicketingHandler, TrackedStore } from '../src/index.js';
import { startGitHub } from '../test/services/github/github-server.js';
import type { Figure } from './measure.js';

const OCCURRENCES = 10_000;
const PROBLEMS = 20;
const WINDOW_MS = 30_000;

export async function githubDelivery(): Promise<Figure[]> {
  const github = await startGitHub();
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-bench-github-'));
  try {
    const backend = new TrackedStore({
      store: `sqlite:${join(dir, 'store.db')}`,
      trackers: [
        new GitHubTracker({ owner: github.owner, repo: github.repo, auth: github.token, baseUrl: github.url }),
      ],
      commentIntervalMs: WINDOW_MS,
      pollIntervalMs: 200,
    });
    const handler = new TicketingHandler(backend);
    const loggers = Array.from({ length: PROBLEMS }, (_, i) => new Logger(`bench.problem${i}`));
    const started = Date.now();
    handler.run(() => {
      for (let i = 0; i < OCCURRENCES; i++) loggers[i % PROBLEMS]!.error('dependency down (%d)', i);
    });
    await handler.flush();
    // The burst's follow-ups wait for their comment window, then go out as digests.
    const delivered = await backend.deliverPending({ timeoutMs: 600_000 });
    const elapsed = Date.now() - started;
    await handler.close();
    await backend.close();
    const calls = github.calls.length;
    const writes = github.calls.filter((c) => c.method !== 'GET').map((c) => c.at);
    const withinBudget = GITHUB_WRITE_BUDGET.every((w) =>
      writes.every((at) => writes.filter((x) => x >= at && x < at + w.perMs).length <= w.writes),
    );
    const windows = Math.ceil(elapsed / WINDOW_MS);
    const perIssueWindow = calls / (PROBLEMS * windows);
    return [
      { scenario: 'GitHub burst', subject: 'one call per occurrence (naive)', value: OCCURRENCES, unit: 'calls' },
      {
        scenario: 'GitHub burst',
        subject: `logtickets (${PROBLEMS} problems, ${WINDOW_MS / 1000} s comment window)`,
        value: calls,
        unit: 'calls',
        ratio: {
          value: perIssueWindow,
          label: 'calls per issue per window',
          target: '≤ 2',
          met: perIssueWindow <= 2 && withinBudget,
        },
        note: `${writes.length} writes, ${withinBudget ? 'within' : 'OVER'} the 80/min and 500/h budget; ${github.violations.length} OpenAPI violations`,
      },
      {
        scenario: 'GitHub burst',
        subject: `time until all ${OCCURRENCES} delivered`,
        value: elapsed / 1000,
        unit: 's',
        note: delivered ? "writes paced by GitHub's guidance (1 s, 3 s when notifying)" : 'NOT all delivered',
      },
    ];
  } finally {
    await github.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
