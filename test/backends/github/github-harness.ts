/**
 * The tracker suite's harness for GitHub: the OpenAPI-checked stand-in,
 * reached with a token or as a GitHub App installation. As an App, the
 * installation's tokens live 6 s instead of an hour, so that tokens run out
 * and are renewed in the middle of deliveries.
 */

import { generateKeyPairSync } from 'node:crypto';
import { GitHubTracker, type GitHubAppAuth } from '../../../src/index.js';
import type { PersonStateActions } from '../../conformance/tracker-state-cases.js';
import type { TrackerHarness, TrackerSubject } from '../../conformance/tracker-suite.js';
import { startGitHub } from '../../services/github/github-server.js';

const APP_ID = 771_204;
// auth-app shares a token request in flight by installation id across the process: one id per test.
let installation = 63_500_000;

export function githubHarness(as: 'token' | 'app'): TrackerHarness {
  return {
    async start(): Promise<TrackerSubject & PersonStateActions> {
      const github = await startGitHub();
      let auth: string | GitHubAppAuth = github.token;
      if (as === 'app') {
        const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        const installationId = (installation += 10);
        github.registerApp({ appId: APP_ID, publicKey, installationId, tokenLifetimeMs: 6_000 });
        auth = {
          appId: APP_ID,
          privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
          installationId,
        };
      }
      const issue = (id: string) => {
        const found = github.issues().find((i) => i.number === Number(id));
        if (found === undefined) throw new Error(`no issue #${id}`);
        return found;
      };
      return {
        tracker: (options = {}) =>
          new GitHubTracker({
            owner: github.owner,
            repo: github.repo,
            auth,
            baseUrl: github.url,
            writeIntervalMs: 0,
            notifyIntervalMs: 0,
            ...options,
          }),
        replica: () => ({
          type: 'github',
          baseUrl: github.url,
          owner: github.owner,
          repo: github.repo,
          auth,
        }),
        async view(id) {
          const found = issue(id);
          return {
            state: found.state === 'closed' ? 'closed' : 'open',
            description: found.body ?? '',
            comments: found.comments.map((c) => c.body),
          };
        },
        async close(id, how) {
          github.closeIssue(Number(id), how === 'solved' ? 'completed' : 'not_planned');
        },
        async reopen(id) {
          github.editIssue(Number(id), { state: 'open' });
        },
        async labelMuted(id) {
          github.editIssue(Number(id), { labels: [...issue(id).labels, 'muted'] });
        },
        async ticketsOf(hash) {
          return github
            .issues()
            .filter((i) => (i.body ?? '').includes(`<!-- logtickets:fingerprint=${hash} -->`))
            .map((i) => String(i.number));
        },
        loseAnswer(kind) {
          github.fault(
            { kind: 'server-error-after-create', times: 1 },
            kind === 'create' ? /^POST \/repos\/[^/]+\/[^/]+\/issues$/ : /^POST .*\/comments$/,
          );
        },
        holdAnswers() {
          // The tracker's writes; an App's token requests are answered (they write nothing in the repository).
          github.fault({ kind: 'hold-answer' }, /^(POST|PATCH) \/repos\//);
        },
        release() {
          github.fault(null);
          github.cutHeldAnswers();
        },
        down(on) {
          github.fault(on ? { kind: 'status', status: 503 } : null);
        },
        writes: () => github.calls.filter((c) => c.method !== 'GET' && !c.path.startsWith('/app/')).length,
        // The tracker's own requests: an App's installation-token requests (tokens here live 6 s) are its auth, not its reads.
        requests: () => github.calls.filter((c) => !c.path.startsWith('/app/')).length,
        verify(t) {
          t.deepEqual(github.violations, []);
          if (as === 'app') t.true(github.installationTokens().length >= 1, 'deliveries made as the installation');
        },
        async cleanup() {
          await github.close();
        },
      };
    },
  };
}
