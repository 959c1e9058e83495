import test from 'ava';
import { GitHubTracker } from '../../../src/index.js';
import { trackerSuite } from '../../conformance/tracker-suite.js';
import { startGitHub } from '../../services/github/github-server.js';

trackerSuite(test, 'GitHub', {
  async start() {
    const github = await startGitHub();
    const issue = (id: string) => {
      const found = github.issues().find((i) => i.number === Number(id));
      if (found === undefined) throw new Error(`no issue #${id}`);
      return found;
    };
    return {
      tracker: () =>
        new GitHubTracker({
          owner: github.owner,
          repo: github.repo,
          auth: github.token,
          baseUrl: github.url,
          writeIntervalMs: 0,
          notifyIntervalMs: 0,
        }),
      async view(id) {
        const found = issue(id);
        return {
          state: found.state === 'closed' ? 'closed' : 'open',
          description: found.body ?? '',
          comments: found.comments.map((c) => c.body),
        };
      },
      async close(id, as) {
        github.closeIssue(Number(id), as === 'solved' ? 'completed' : 'not_planned');
      },
      async ticketsOf(hash) {
        return github
          .issues()
          .filter((i) => (i.body ?? '').includes(`<!-- logtickets:fingerprint=${hash} -->`))
          .map((i) => String(i.number));
      },
      verify(t) {
        t.deepEqual(github.violations, []);
      },
      cleanup: () => github.close(),
    };
  },
});
