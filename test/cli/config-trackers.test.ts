import test from 'ava';
import { cli, workdir } from './run-cli.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqlBackend } from '../../src/index.js';
import { serverAvailable } from '../services/availability.js';
import { startGitHub } from '../services/github/github-server.js';
import { startFaultProxy } from '../services/trac/fault-proxy.js';
import { startTrac, tracCall, tracUnavailableReason, type TracServer } from '../services/trac/trac-server.js';

let shared: Promise<TracServer> | undefined;
// A second account that may open tickets but not comment on them (TICKET_MODIFY would include TICKET_APPEND).
const trac = () => (shared ??= startTrac({ users: { 'no-comment': ['XML_RPC', 'TICKET_VIEW', 'TICKET_CREATE'] } }));
test.after.always(async () => {
  if (shared !== undefined) await (await shared).stop();
});

if (serverAvailable(test, 'Trac', tracUnavailableReason())) {
  test.serial(
    'check-config names what to fix: a Trac user without TICKET_APPEND, a GitHub token without access',
    async (t) => {
      const server = await trac();
      const github = await startGitHub();
      t.teardown(() => github.close());
      const dir = workdir(t);
      const weak = server.users['no-comment']!;
      writeFileSync(join(dir, 'trac_password'), weak.password);
      const config = join(dir, 'logtickets.json');
      writeFileSync(
        config,
        JSON.stringify({
          store: 'sqlite:./store.db',
          trackers: [
            { type: 'trac', name: 'trac', url: server.url, username: weak.username, password_file: 'trac_password' },
            {
              type: 'github',
              name: 'github',
              owner: github.owner,
              repo: github.repo,
              token: '${CLI_TEST_GITHUB_TOKEN}',
              baseUrl: github.url,
            },
          ],
        }),
      );
      const r = await cli(['check-config', '--config', config], {
        env: { CLI_TEST_GITHUB_TOKEN: github.accounts.none.token },
        timeoutMs: 120_000,
      });
      t.is(r.code, 1, r.stderr);
      const lines = r.stdout.trim().split('\n');
      const find = (prefix: RegExp) => lines.find((l) => prefix.test(l)) ?? `(no line matching ${prefix})`;
      t.regex(find(/^ok\s+config: valid/), /2 trackers/);
      t.regex(find(/^ok\s+trac: reachable/), /1\.2\.0/);
      t.regex(find(/^ok\s+trac: authenticated/), /./);
      t.regex(find(/^ok\s+trac: may create tickets/), /./);
      t.regex(find(/trac: may comment/), /^FAIL.*TICKET_APPEND/);
      t.regex(find(/^ok\s+github: reachable/), /./);
      t.regex(find(/github: repository access/), /^FAIL.*(Issues|repo scope)/);
      for (const line of lines) {
        t.false(line.includes(weak.password), 'no password in the output');
        t.false(line.includes(github.accounts.none.token), 'no token in the output');
      }
      t.deepEqual(github.violations, []);
    },
  );

  test.serial('test-ticket shows where the ticket landed in each tracker; sync delivers what waits', async (t) => {
    const server = await trac();
    const proxy = await startFaultProxy(server.url);
    t.teardown(() => proxy.close());
    const github = await startGitHub();
    t.teardown(() => github.close());
    const dir = workdir(t);
    const config = join(dir, 'logtickets.json');
    writeFileSync(
      config,
      JSON.stringify({
        handler: { appId: `cli-${Date.now()}` },
        store: 'sqlite:./store.db',
        comments: { intervalMs: 0 },
        trackers: [
          {
            type: 'trac',
            name: 'trac',
            url: proxy.url,
            username: server.username,
            password: '${CLI_TEST_TRAC_PASSWORD}',
          },
          {
            type: 'github',
            name: 'github',
            owner: github.owner,
            repo: github.repo,
            token: '${CLI_TEST_GITHUB_TOKEN}',
            baseUrl: github.url,
            writeIntervalMs: 0,
            notifyIntervalMs: 0,
          },
        ],
      }),
    );
    const env = { CLI_TEST_TRAC_PASSWORD: server.password, CLI_TEST_GITHUB_TOKEN: github.token };
    // The store, as the service's first write leaves it: the CLI creates none.
    const service = new SqlBackend(`sqlite:${join(dir, 'store.db')}`);
    await service.open();
    await service.close();
    const checked = await cli(['check-config', '--config', config], { env, timeoutMs: 120_000 });
    t.is(checked.code, 0, checked.stdout + checked.stderr);
    t.false(/^FAIL/m.test(checked.stdout), checked.stdout);

    const sent = await cli(['test-ticket', '--config', config], { env, timeoutMs: 120_000 });
    t.is(sent.code, 0, sent.stdout + sent.stderr);
    t.regex(sent.stdout, /^ok\s+sqlite:.*store\.db: stored — ticket #1 \(1 occurrence\)$/m);
    const tracLine = /^ok\s+trac: delivered — (\S+)/m.exec(sent.stdout);
    t.truthy(tracLine, sent.stdout);
    t.regex(
      tracLine![1]!,
      new RegExp(`^${proxy.url.replace('/login/rpc', '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/ticket/\\d+$`),
    );
    t.regex(sent.stdout, new RegExp(`^ok\\s+github: delivered — \\S+/${github.owner}/${github.repo}/issues/1$`, 'm'));
    t.is(github.issues().length, 1);

    // Trac is unreachable for a while (the same Trac, behind a proxy that refuses): the occurrence waits
    // in the outbox, then `sync` delivers it.
    proxy.mode = 'refuse';
    const failed = await cli(['test-ticket', '--config', config, '--timeout', '3'], { env, timeoutMs: 120_000 });
    t.is(failed.code, 1);
    t.regex(failed.stdout, /^FAIL\s+trac: delivered — not delivered within 3 s.*waits in the outbox/m);
    proxy.mode = 'pass';
    const stats = await cli(['stats', '--json', '--config', config]);
    t.is(stats.code, 0, stats.stderr);
    t.true(JSON.parse(stats.stdout).outboxWaiting >= 1, stats.stdout);
    const synced = await cli(['sync', '--config', config], { env, timeoutMs: 120_000 });
    t.is(synced.code, 0, synced.stdout + synced.stderr);
    t.regex(synced.stdout, /^ok\s+trac: synced — \d+ deliver(y|ies) sent$/m);
    t.regex(synced.stdout, /^ok\s+github: synced — nothing was waiting$/m);
    t.regex(synced.stderr, /^trac: \d+\/\d+ delivered$/m, 'progress as plain lines when not on a terminal');
    const after = await cli(['stats', '--json', '--config', config]);
    t.is(JSON.parse(after.stdout).outboxWaiting, 0);

    // The ticket read from the store carries its links; reading needs no tracker credentials.
    const shown = await cli(['show', '1', '--config', config]);
    t.is(shown.code, 0, shown.stderr);
    const linkLines = shown.stdout.split('\n').filter((l) => /^link\s/.test(l));
    const shownUrls = linkLines.map(
      (l) =>
        l
          .replace(/^link\s+\w+: /, '')
          .trimEnd()
          .split(' ')[0],
    );
    t.true(
      linkLines.every((l) => / open$/.test(l.trimEnd())),
      'each link with its state',
    );
    t.is(shownUrls.length, 2, shown.stdout);
    t.is(shownUrls[0], tracLine![1]!);
    t.regex(shownUrls[1]!, new RegExp(`^http\\S+/${github.owner}/${github.repo}/issues/1$`));
    const json = await cli(['show', '1', '--json', '--config', config]);
    t.is(json.code, 0, json.stderr);
    const { links } = JSON.parse(json.stdout) as { links: Array<{ tracker: string; externalId: string; url: string }> };
    t.is(links.length, 2);
    t.like(links[0], { url: tracLine![1]!, externalId: /\/(\d+)$/.exec(tracLine![1]!)![1]! });
    t.regex(links[0]!.tracker, /^trac:http/);
    t.like(links[1], { tracker: `github:${new URL(github.url).host}/${github.owner}/${github.repo}`, externalId: '1' });
  });

  test.serial(
    'solve, mute, unmute with trackers in the config: carried out in Trac and GitHub at once; sync --full learns a change made in a tracker',
    async (t) => {
      const server = await trac();
      const github = await startGitHub();
      t.teardown(() => github.close());
      const dir = workdir(t);
      const config = join(dir, 'logtickets.json');
      writeFileSync(
        config,
        JSON.stringify({
          handler: { appId: `cli-state-${Date.now()}` },
          store: 'sqlite:./store.db',
          comments: { intervalMs: 0 },
          trackers: [
            {
              type: 'trac',
              name: 'trac',
              url: server.url,
              username: server.username,
              password: '${CLI_TEST_TRAC_PASSWORD}',
            },
            {
              type: 'github',
              name: 'github',
              owner: github.owner,
              repo: github.repo,
              token: '${CLI_TEST_GITHUB_TOKEN}',
              baseUrl: github.url,
              writeIntervalMs: 0,
              notifyIntervalMs: 0,
            },
          ],
        }),
      );
      const env = { CLI_TEST_TRAC_PASSWORD: server.password, CLI_TEST_GITHUB_TOKEN: github.token };
      // The store, as the service's first write leaves it: the CLI creates none.
      const service = new SqlBackend(`sqlite:${join(dir, 'store.db')}`);
      await service.open();
      await service.close();
      const sent = await cli(['test-ticket', '--config', config], { env, timeoutMs: 120_000 });
      t.is(sent.code, 0, sent.stdout + sent.stderr);
      const tracId = Number(/\/ticket\/(\d+)/.exec(sent.stdout)![1]);
      const tracState = async () => {
        const [, , , attrs] = (await tracCall(server, 'ticket.get', [tracId])) as [
          number,
          Date,
          Date,
          Record<string, string>,
        ];
        return `${attrs.status} ${attrs.resolution ?? ''}`.trim();
      };
      const issue = () => github.issues().find((i) => i.number === 1)!;

      const solved = await cli(['solve', '1', '--config', config], { env, timeoutMs: 120_000 });
      t.is(solved.code, 0, solved.stdout + solved.stderr);
      t.regex(solved.stdout, /^Ticket 1 solved/m);
      t.regex(solved.stdout, new RegExp(`^  trac #${tracId} \\S+: solved$`, 'm'));
      t.regex(solved.stdout, /^  github #1 \S+\/issues\/1: solved$/m);
      t.is(await tracState(), 'closed fixed');
      t.like(issue(), { state: 'closed', state_reason: 'completed' });
      const listed = await cli(['list', '--config', config]);
      t.regex(listed.stdout, /TRACKER/);
      t.regex(listed.stdout, new RegExp(`trac #${tracId} solved, github #1 solved`));

      t.is((await cli(['mute', '1', '--config', config], { env, timeoutMs: 120_000 })).code, 0);
      t.is(await tracState(), 'closed wontfix');
      t.like(issue(), { state: 'closed', state_reason: 'not_planned' });
      t.is((await cli(['unmute', '1', '--config', config], { env, timeoutMs: 120_000 })).code, 0);
      t.regex(await tracState(), /^reopened/);
      t.is(issue().state, 'open');

      // A person closes the issue in GitHub; nothing polls (no service runs): sync --full reads it.
      github.closeIssue(1, 'completed');
      const full = await cli(['sync', '--full', '--config', config], { env, timeoutMs: 120_000 });
      t.is(full.code, 0, full.stdout + full.stderr);
      t.regex(full.stdout, /^ok\s+github: states read — \d+ tickets? read, 1 changed here, 0 told the store's state$/m);
      t.regex(full.stdout, /^ok\s+trac: states read — /m);
      const shown = JSON.parse((await cli(['show', '1', '--json', '--config', config])).stdout) as {
        state: string;
        links: Array<{ state: string }>;
      };
      t.is(shown.state, 'solved', 'the store learned the close');
      t.deepEqual(
        shown.links.map((l) => l.state),
        ['solved', 'solved'],
      );
      t.is(await tracState(), 'closed fixed', 'and Trac followed');

      // Without the trackers' credentials here, the change is queued for the fleet's deliverer.
      const queued = await cli(['reopen', '1', '--config', config], { timeoutMs: 120_000 });
      t.is(queued.code, 0, queued.stderr);
      t.regex(queued.stdout, /^Ticket 1 reopened/m);
      t.regex(queued.stdout, /: solved → open queued: the process delivering to it carries it out/);
      const stats = JSON.parse((await cli(['stats', '--json', '--config', config])).stdout);
      t.is(stats.outboxWaiting, 2, 'one delivery per tracker waits');
      t.deepEqual(github.violations, []);
    },
  );
}
