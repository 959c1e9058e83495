/**
 * The static report (`logtickets report --out FILE`, through the built
 * command) opened in a real browser with the network off: the same views as
 * the dashboard from the data inside the file, no request leaves the page,
 * no script from a record runs, no CSP violation.
 */

import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { SqlBackend } from '../../src/index.js';
import {
  sorted,
  histogramRows,
  launchBrowser,
  listedTickets,
  pwned,
  screenshot,
  violations,
  watchedContext,
} from './browser.js';
import { HOSTILE_TITLE, PAYMENTS_PER_HOUR, seedDashboard } from './dashboard-seed.js';

const exec = promisify(execFile);
const cli = join(process.cwd(), 'dist', 'cli', 'main.js');

let dir: string;
let uri: string;
let ids: Awaited<ReturnType<typeof seedDashboard>>;
let browser: Browser;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'logtickets-report-'));
  uri = `sqlite:${join(dir, 'tickets.db')}`;
  const store = new SqlBackend(uri);
  await store.open();
  ids = await seedDashboard(uri, store);
  await store.close();
  browser = await launchBrowser();
});

test.after.always(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function makeReport(name: string, ...flags: string[]): Promise<{ file: string; stdout: string }> {
  const file = join(dir, name);
  const { stdout } = await exec(process.execPath, [
    cli,
    'report',
    '--db',
    uri,
    '--out',
    file,
    '--from',
    '2026-11-23T13:00:00Z',
    '--to',
    '2026-11-30T13:00:00Z',
    ...flags,
  ]);
  return { file, stdout };
}

test.serial(
  'the report opens offline and shows the list, a ticket and its histogram from the file alone',
  async (t) => {
    const { file, stdout } = await makeReport('report.html');
    t.regex(stdout, /^wrote .*report\.html \(\d+ KB\)/);
    const context = await watchedContext(browser, { offline: true });
    const requests: string[] = [];
    context.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    const page = await context.newPage();
    await page.goto(`${pathToFileURL(file).href}#/tickets`);
    await page.waitForSelector('body[data-ready="true"]');
    t.deepEqual(sorted(await listedTickets(page)), sorted([ids.payments, ids.slow, ids.hostile, ids.queue]));
    await Promise.all([page.waitForURL(/#\/tickets\/\d+/), page.click(`tr[data-ticket="${ids.payments}"] td.title a`)]);
    await page.waitForFunction(() => document.querySelector('h1')?.textContent === 'payment failed');
    await page.waitForSelector('table.buckets', { state: 'attached' });
    t.deepEqual(
      await histogramRows(page),
      PAYMENTS_PER_HOUR.map(([start, n]) => [start, n]),
    );
    // The second page of occurrences is in the file too.
    await page.click('section.occurrences a.next');
    await page.waitForFunction(() => document.querySelectorAll('ol.occurrence-list > li').length === 15);
    t.is(await page.locator('ol.occurrence-list > li').count(), 15);
    // The hostile problem: text only.
    await page.goto(`${pathToFileURL(file).href}#/tickets/${ids.hostile}`);
    await page.waitForFunction((title) => document.querySelector('h1')?.textContent === title, HOSTILE_TITLE);
    t.is(await page.locator('main img, main b').count(), 0);
    t.is(await pwned(page), undefined);
    t.deepEqual(await violations(page), []);
    t.deepEqual(requests, []);
    await screenshot(page, 'report-ticket.png');
    await context.close();
  },
);

test.serial("the report's own policy forbids every request and every script but its own", async (t) => {
  const { file } = await makeReport('filtered.html', '--search', 'slow');
  const html = readFileSync(file, 'utf8');
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '';
  t.regex(csp, /default-src 'none'/);
  t.regex(csp, /script-src 'sha256-[^']+'/);
  t.notRegex(csp, /unsafe-inline|connect-src|https?:/);
  // Only the data block and the page script: no script element from a record.
  t.is(html.match(/<script/g)!.length, 2);
  const context = await watchedContext(browser, { offline: true });
  const page = await context.newPage();
  await page.goto(`${pathToFileURL(file).href}#/tickets`);
  await page.waitForSelector('body[data-ready="true"]');
  t.deepEqual(await listedTickets(page), [ids.slow]);
  t.regex((await page.textContent('.report-filters'))!, /q=slow/);
  // A script the file did not bring is blocked by its policy, and counted.
  await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__pwned = "injected"';
    document.body.append(s);
  });
  t.is(await pwned(page), undefined);
  t.is((await violations(page)).length, 1);
  await context.close();
});
