import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHandlerFromConfig, Logger, openBackend, TrackedStore } from '../../src/index.js';
import { serverAvailable } from '../services/availability.js';
import { startGitHub } from '../services/github/github-server.js';
import { startTrac, tracCall, tracUnavailableReason, type TracServer } from '../services/trac/trac-server.js';

let shared: Promise<TracServer> | undefined;
const trac = () => (shared ??= startTrac());
test.after.always(async () => {
  if (shared !== undefined) await (await shared).stop();
});

function dir(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'logtickets-trackers-config-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const planted = {
  password: 'Pl4nted-Passw0rd-x9',
  ghToken: 'ghp_PlantedToken0123456789abcdefghijklmn',
  bearer: 'PlantedBearerCredential99',
  dsnPassword: 'PlantedDsnPassword',
  apiKey: 'PlantedApiKeyValue',
};

if (serverAvailable(test, 'Trac', tracUnavailableReason())) {
  test('one config, Trac and GitHub sharing one store: counted once, delivered to both, no secret anywhere', async (t) => {
    const server = await trac();
    const github = await startGitHub();
    t.teardown(() => github.close());
    const d = dir(t);
    writeFileSync(join(d, 'trac_password'), `${server.password}\n`);
    const configPath = join(d, 'logtickets.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        handler: { appId: `cfg-${Date.now()}` },
        store: 'sqlite:./store.db',
        comments: { intervalMs: 0 },
        trackers: [
          {
            type: 'trac',
            url: server.url,
            username: server.username,
            password_file: 'trac_password',
            pollIntervalMs: 50,
          },
          {
            type: 'github',
            owner: github.owner,
            repo: github.repo,
            token: '${CONFIG_TEST_GITHUB_TOKEN}',
            baseUrl: github.url,
            pollIntervalMs: 50,
            writeIntervalMs: 0,
            notifyIntervalMs: 0,
          },
        ],
      }),
    );
    process.env.CONFIG_TEST_GITHUB_TOKEN = github.token;
    const handler = createHandlerFromConfig(configPath);
    const log = new Logger(`billing.${Math.random().toString(36).slice(2, 8)}`);
    function failLogin(attempt: number): void {
      const error = new Error(`login refused for Authorization: Bearer ${planted.bearer}`) as Error & {
        request?: unknown;
      };
      error.request = {
        headers: { 'x-api-key': planted.apiKey },
        url: `https://bot:${planted.password}@api.example.org/v1`,
      };
      log.error(
        { error, extra: { attempt, password: planted.password, query: `user=ann&token=${planted.ghToken}` } },
        'cannot reach postgres://billing:%s@db/billing (token %s)',
        planted.dsnPassword,
        planted.ghToken,
      );
    }
    handler.run(() => {
      for (let attempt = 1; attempt <= 3; attempt++) failLogin(attempt);
    });
    t.true(await handler.flush({ timeoutMs: 30_000 }));
    const tracked = handler.backends[0] as TrackedStore;
    t.true(tracked instanceof TrackedStore);
    for (const tracker of tracked.trackers)
      t.true(await tracked.deliverPending({ timeoutMs: 60_000, tracker: tracker.name }), tracker.name);
    t.true(await handler.close());

    // The store counted each occurrence once, although two trackers receive them.
    const store = openBackend(`sqlite:${join(d, 'store.db')}`);
    const tickets = await store.getTickets();
    await store.close();
    t.is(tickets.length, 1);
    t.is(tickets[0]!.occurrenceCount, 3);

    // Trac: the ticket and every comment on it.
    const id = (
      (await tracCall(server, 'ticket.query', [`logtickets_hash=${tickets[0]!.hash}&max=0`])) as number[]
    )[0]!;
    t.truthy(id, 'a Trac ticket carries the fingerprint');
    const [, , , attrs] = (await tracCall(server, 'ticket.get', [id])) as [number, Date, Date, Record<string, string>];
    const changes = (await tracCall(server, 'ticket.changeLog', [id])) as Array<[Date, string, string, string, string]>;
    const tracText = [attrs.summary, attrs.description, ...changes.map((c) => c[4])].join('\n');
    t.regex(tracText, /cannot reach postgres:\/\/\[REDACTED\]@db\/billing/);

    // GitHub: the issue and every comment on it.
    const issues = github.issues();
    t.is(issues.length, 1);
    const githubText = issues.flatMap((i) => [i.title, i.body ?? '', ...i.comments.map((c) => c.body)]).join('\n');
    t.regex(githubText, /cannot reach postgres:\/\/\[REDACTED\]@db\/billing/);
    t.deepEqual(github.violations, []);

    // No planted secret in Trac, in GitHub, or in any byte of the store's files.
    const storeBytes = readdirSync(d)
      .filter((f) => f.startsWith('store.db'))
      .map((f) => readFileSync(join(d, f)).toString('latin1'))
      .join('\n');
    for (const [name, value] of Object.entries(planted)) {
      t.false(tracText.includes(value), `${name} in Trac`);
      t.false(githubText.includes(value), `${name} in GitHub`);
      t.false(storeBytes.includes(value), `${name} in the store`);
    }
  });
}
