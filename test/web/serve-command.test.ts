/**
 * `logtickets serve` through the built command, as the README's first steps
 * use it: after the demo, the dashboard lists the demo's tickets, each with a
 * timeline; Ctrl-C (SIGINT) or SIGTERM stops it cleanly. Off loopback it
 * needs a token and never prints it.
 */

import test from 'ava';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cli, workdir } from '../cli/run-cli.js';
import { launchBrowser, listedTickets, openView, violations, watchedContext } from './browser.js';

const built = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** Start `serve`; resolves with its first line of output and the process. */
function startServe(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [built, 'serve', '--port', '0', ...args], {
    env: { ...process.env, LOGTICKETS_DB: '', LOGTICKETS_CONFIG: '', LOGTICKETS_TOKEN: '', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const firstLine = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (stdout.includes('\n')) resolve(stdout.split('\n')[0]!);
    });
    child.on('close', () => reject(new Error(`serve ended: ${stderr}`)));
  });
  return { child, firstLine, exited, stderr: () => stderr };
}

test('after the demo, serve shows the demo tickets with their timelines; SIGINT stops it', async (t) => {
  const dir = workdir(t);
  const db = `sqlite:${join(dir, 'demo.db')}`;
  const demo = await cli(['demo', '--db', db, '--rounds', '10'], { built: true, timeoutMs: 120_000 });
  t.is(demo.code, 0, demo.stderr);
  const served = startServe(['--db', db]);
  const line = await served.firstLine;
  t.regex(line, /^logtickets dashboard on http:\/\/127\.0\.0\.1:\d+\/, read-only; Ctrl-C stops it$/);
  const url = /(http:\/\/\S+\/)/.exec(line)![1]!;
  const browser = await launchBrowser();
  try {
    const page = await (await watchedContext(browser)).newPage();
    await openView(page, `${url}tickets?period=24h`);
    const listed = await listedTickets(page);
    const api = (await (await fetch(`${url}api/tickets?period=24h`)).json()) as {
      total: number;
      tickets: Array<{ periodCount: number }>;
    };
    t.true(listed.length > 0);
    t.is(listed.length, api.tickets.length);
    // Every demo ticket happened in the last day: each sparkline has its occurrences.
    for (const ticket of api.tickets) t.true(ticket.periodCount > 0);
    const sums = await page.$$eval('svg.spark', (sparks) =>
      sparks.map((s) =>
        s
          .getAttribute('data-points')!
          .split(',')
          .map(Number)
          .reduce((a, b) => a + b, 0),
      ),
    );
    t.deepEqual(
      sums,
      api.tickets.map((x) => x.periodCount),
    );
    await openView(page, `${url}tickets/${listed[0]}?period=24h`);
    t.true((await page.locator('table.buckets tbody tr').count()) > 0);
    t.deepEqual(await violations(page), []);
  } finally {
    await browser.close();
  }
  served.child.kill('SIGINT');
  t.is(await served.exited, 0);
});

test('serve off loopback: refused without a token (exit 2, one line); with LOGTICKETS_TOKEN it starts and never prints it', async (t) => {
  const dir = workdir(t);
  const db = `sqlite:${join(dir, 'demo.db')}`;
  t.is((await cli(['demo', '--db', db, '--rounds', '2'], { built: true, timeoutMs: 120_000 })).code, 0);
  const refused = await cli(['serve', '--db', db, '--host', '0.0.0.0', '--port', '0'], {
    built: true,
    env: { LOGTICKETS_TOKEN: '' },
  });
  t.is(refused.code, 2);
  t.is(
    refused.stderr,
    'logtickets: serving on 0.0.0.0 (not loopback) needs a token: give --token or LOGTICKETS_TOKEN, or serve on 127.0.0.1\n',
  );
  const token = 'token-for-the-serve-command-test';
  const served = startServe(['--db', db, '--host', '0.0.0.0'], { LOGTICKETS_TOKEN: token });
  const line = await served.firstLine;
  t.regex(line, /open it once with \?token=… to sign in/);
  t.false(line.includes(token));
  const port = /:(\d+)\//.exec(line)![1];
  t.is((await fetch(`http://127.0.0.1:${port}/api/tickets`)).status, 401);
  t.is(
    (await fetch(`http://127.0.0.1:${port}/api/tickets`, { headers: { authorization: `Bearer ${token}` } })).status,
    200,
  );
  served.child.kill('SIGTERM');
  t.is(await served.exited, 0);
  t.false(served.stderr().includes(token));
});

test('serve and report explain their flags: a bad port, a missing --out', async (t) => {
  const dir = workdir(t);
  const db = `sqlite:${join(dir, 'demo.db')}`;
  t.is((await cli(['demo', '--db', db, '--rounds', '2'], { built: true, timeoutMs: 120_000 })).code, 0);
  const port = await cli(['serve', '--db', db, '--port', '99999'], { built: true });
  t.is(port.code, 2);
  t.is(port.stderr, 'logtickets: --port must be a port number from 0 to 65535, got "99999"\n');
  const out = await cli(['report', '--db', db], { built: true });
  t.is(out.code, 2);
  t.is(out.stderr, 'logtickets: report needs --out FILE (the HTML file to write)\n');
  const period = await cli(['report', '--db', db, '--out', join(dir, 'r.html'), '--period', '2w'], { built: true });
  t.is(period.code, 2);
  t.regex(period.stderr, /^logtickets: period must be one of 24h, 7d, 30d or custom, got "2w"\n$/);
});
