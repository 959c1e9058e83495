/**
 * The dashboard in a real browser, over a SQLite store seeded by three OS
 * processes with occurrences at known times (dashboard-seed.ts): the list and
 * its filters, a ticket's histogram bar by bar, paging, shareable URLs,
 * hostile records, and writes. Screenshots of the list and a ticket page are
 * saved to test-artifacts/.
 */

import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { SqlBackend } from '../../src/index.js';
import { startDashboard, type Dashboard } from '../../src/web/server.js';
import {
  sorted,
  histogramRows,
  launchBrowser,
  listedTickets,
  openView,
  pwned,
  screenshot,
  violations,
  watchedContext,
} from './browser.js';
import { BIG, HASHES, HOSTILE_TITLE, NOW, PAYMENTS_PER_HOUR, seedDashboard } from './dashboard-seed.js';

const TRACKER = 'github:acme/shop';
let dir: string;
let store: SqlBackend;
let ids: Awaited<ReturnType<typeof seedDashboard>>;
let dashboard: Dashboard;
let browser: Browser;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'logtickets-dashboard-'));
  const uri = `sqlite:${join(dir, 'tickets.db')}`;
  store = new SqlBackend(uri);
  await store.open();
  ids = await seedDashboard(uri, store);
  // The slow query's problem has a GitHub issue: its page links to it, and a change made here is queued for it.
  await store.setLink({ appId: 'shop', hash: HASHES.slow, tracker: TRACKER }, '7');
  const trackers = [
    { name: TRACKER, label: 'GitHub', ticketUrl: (id: string) => `https://github.com/acme/shop/issues/${id}` },
  ];
  dashboard = await startDashboard({ store, trackers, port: 0, now: () => NOW, allowWrites: true });
  browser = await launchBrowser();
});

test.after.always(async () => {
  await browser?.close();
  await dashboard?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

test.serial('the list shows every problem seen in the last 7 days but the muted one, with sparklines', async (t) => {
  const context = await watchedContext(browser);
  const page = await context.newPage();
  await openView(page, `${dashboard.url}tickets`);
  t.deepEqual(sorted(await listedTickets(page)), sorted([ids.payments, ids.slow, ids.hostile, ids.queue]));
  // The payments problem: 35 occurrences in the period, its sparkline's slices add up to them.
  const row = page.locator(`tr[data-ticket="${ids.payments}"]`);
  t.is(await row.locator('.period-count').textContent(), '35');
  const points = (await row.locator('svg.spark').getAttribute('data-points'))!.split(',').map(Number);
  t.is(points.length, 28);
  t.is(
    points.reduce((a, b) => a + b, 0),
    35,
  );
  t.deepEqual(await violations(page), []);
  await screenshot(page, 'dashboard-list.png');
  await context.close();
});

test.serial('filters go into the URL, and a shared URL shows the same view', async (t) => {
  const context = await watchedContext(browser);
  const page = await context.newPage();
  await openView(page, `${dashboard.url}tickets`);
  await page.selectOption('select[name="state"]', 'muted');
  await Promise.all([page.waitForURL(/state=muted/), page.click('form.filters button[type="submit"]')]);
  await page.waitForSelector('body[data-ready="true"]');
  t.deepEqual(await listedTickets(page), [ids.muted]);
  await page.fill('input[name="q"]', 'SLOW');
  await page.selectOption('select[name="state"]', '');
  await Promise.all([page.waitForURL(/q=SLOW/), page.press('input[name="q"]', 'Enter')]);
  await page.waitForSelector('body[data-ready="true"]');
  t.deepEqual(await listedTickets(page), [ids.slow]);
  const shared = page.url();
  // Someone else opens the link.
  const other = await (await watchedContext(browser)).newPage();
  await openView(other, shared);
  t.deepEqual(await listedTickets(other), [ids.slow]);
  t.is(await other.inputValue('input[name="q"]'), 'SLOW');
  // Level, release and environment filters.
  await openView(other, `${dashboard.url}tickets?level=ERROR`);
  t.deepEqual(sorted(await listedTickets(other)), sorted([ids.payments, ids.hostile, ids.queue]));
  await openView(other, `${dashboard.url}tickets?release=1.2.0&environment=production`);
  t.deepEqual(await listedTickets(other), [ids.slow]);
  await openView(other, `${dashboard.url}tickets?period=24h`);
  t.deepEqual(sorted(await listedTickets(other)), sorted([ids.payments, ids.slow, ids.hostile]));
  await context.close();
  await other.context().close();
});

test.serial(
  "a ticket's histogram has a bar per hour with exactly the seeded counts, and its history marked",
  async (t) => {
    const context = await watchedContext(browser);
    const page = await context.newPage();
    await openView(page, `${dashboard.url}tickets`);
    await Promise.all([page.waitForURL(/\/tickets\/\d+/), page.click(`tr[data-ticket="${ids.payments}"] td.title a`)]);
    await page.waitForSelector('body[data-ready="true"]');
    t.is(await page.textContent('h1'), 'payment failed');
    t.deepEqual(
      await histogramRows(page),
      PAYMENTS_PER_HOUR.map(([start, n]) => [start, n]),
    );
    t.is((await page.locator('.chart canvas').count()) > 0, true);
    // Distinct messages with counts, most frequent first.
    const messages = await page.$$eval('table.messages tbody tr', (rows) =>
      rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)),
    );
    t.deepEqual(messages.slice(0, 3), [
      ['payment failed: card declined', '5'],
      ['payment failed: timeout', '4'],
      ['payment failed: folded', '2'],
    ]);
    await screenshot(page, 'dashboard-ticket.png');
    // 30 days: one bar per day, the 20th's occurrence included.
    await openView(page, `${dashboard.url}tickets/${ids.payments}?period=30d`);
    t.deepEqual(await histogramRows(page), [
      ['2026-11-20T00:00:00.000Z', 1],
      ['2026-11-27T00:00:00.000Z', 25],
      ['2026-11-28T00:00:00.000Z', 2],
      ['2026-11-29T00:00:00.000Z', 3],
      ['2026-11-30T00:00:00.000Z', 5],
    ]);
    // The regressed problem's page marks its solve and its regression.
    await openView(page, `${dashboard.url}tickets/${ids.queue}`);
    t.deepEqual(await page.$$eval('ul.marks li', (items) => items.map((li) => li.className)), [
      'mark mark-solved',
      'mark mark-regressed',
    ]);
    t.deepEqual(await violations(page), []);
    await context.close();
  },
);

test.serial('occurrences page by page, newest first, each with its whole record', async (t) => {
  const context = await watchedContext(browser);
  const page = await context.newPage();
  await openView(page, `${dashboard.url}tickets/${ids.payments}`);
  const first = await page.$$eval('ol.occurrence-list > li', (items) =>
    items.map((li) => li.getAttribute('data-occurrence')),
  );
  t.is(first.length, 20);
  await Promise.all([page.waitForURL(/occ=20/), page.click('section.occurrences a.next')]);
  await page.waitForSelector('body[data-ready="true"]');
  const second = await page.$$eval('ol.occurrence-list > li', (items) =>
    items.map((li) => li.getAttribute('data-occurrence')),
  );
  // 35 rows kept (the folded entry is one row): 20, then 15, none twice.
  t.is(second.length, 15);
  t.is(new Set([...first, ...second]).size, 35);
  t.is(await page.locator('section.occurrences a.next').count(), 0);
  await context.close();
});

test.serial('a hostile record renders as inert text: no script runs, no CSP violation, 5 MB cut', async (t) => {
  const context = await watchedContext(browser);
  const page = await context.newPage();
  await openView(page, `${dashboard.url}tickets/${ids.hostile}`);
  t.is(await page.textContent('h1'), HOSTILE_TITLE);
  t.is(await page.locator('main img, main script, main svg[onload], main b').count(), 0);
  const extra = (await page.textContent('.latest .part-extra pre'))!;
  t.true(extra.includes('javascript:window.__pwned=3'));
  t.true(extra.includes('⟨U+202E⟩gnp.exe'));
  t.true(extra.length < BIG / 10);
  t.true(extra.includes('more characters]'));
  t.is(await page.locator('a[href^="javascript:"]').count(), 0);
  // The channel's bidi override is shown, not obeyed.
  await openView(page, `${dashboard.url}tickets`);
  t.is(await page.textContent(`tr[data-ticket="${ids.hostile}"] td.channel`), 'evil⟨U+202E⟩redaeh');
  t.is(await pwned(page), undefined);
  t.deepEqual(await violations(page), []);
  await context.close();
});

test.serial(
  'with writes allowed, Solve solves the ticket and queues the change for its tracker; a forged request is refused',
  async (t) => {
    const context = await watchedContext(browser);
    const page = await context.newPage();
    await openView(page, `${dashboard.url}tickets/${ids.slow}`);
    const links = await page.$$eval('ul.tracker-links a', (list) =>
      list.map((a) => [a.textContent, a.getAttribute('href')]),
    );
    t.deepEqual(links, [['GitHub #7', 'https://github.com/acme/shop/issues/7']]);
    t.is(await store.countOutbox(TRACKER), 0);
    await Promise.all([page.waitForEvent('load'), page.click('.actions button[data-state="solved"]')]);
    await page.waitForSelector('body[data-ready="true"]');
    t.is((await store.getTicket(ids.slow))!.state, 'solved');
    t.is(await page.textContent('.badges .state'), 'solved');
    // Queued for the linked GitHub issue, as the CLI's solve does: the service's replicas or sync carry it out.
    t.is(await store.countOutbox(TRACKER), 1);
    const forged = await page.evaluate(async (id) => {
      const r = await fetch(`/api/tickets/${id}/state`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"state":"open"}',
      });
      return r.status;
    }, ids.slow);
    t.is(forged, 403);
    t.is((await store.getTicket(ids.slow))!.state, 'solved');
    await context.close();
  },
);

test.serial(
  'the overview counts occurrences and new problems per day and ranks the top problems of the period',
  async (t) => {
    const context = await watchedContext(browser);
    const page = await context.newPage();
    await openView(page, `${dashboard.url}?period=30d`);
    // Muted problems are left out, as in the list; payments' occurrence of the 20th is in these 30 days.
    t.deepEqual(await histogramRows(page, 0), [
      ['2026-11-20T00:00:00.000Z', 1],
      ['2026-11-25T00:00:00.000Z', 1],
      ['2026-11-27T00:00:00.000Z', 25],
      ['2026-11-28T00:00:00.000Z', 3],
      ['2026-11-29T00:00:00.000Z', 3],
      ['2026-11-30T00:00:00.000Z', 10],
    ]);
    t.deepEqual(await histogramRows(page, 1), [
      ['2026-11-20T00:00:00.000Z', 1],
      ['2026-11-25T00:00:00.000Z', 1],
      ['2026-11-30T00:00:00.000Z', 2],
    ]);
    const top = await page.$$eval('table.top tbody tr', (rows) =>
      rows.map((r) => [Number(r.getAttribute('data-ticket')), r.querySelector('td')!.textContent]),
    );
    t.deepEqual(top, [
      [ids.payments, '36'],
      [ids.slow, '4'],
      [ids.queue, '2'],
      [ids.hostile, '1'],
    ]);
    t.regex(
      (await page.textContent('p.summary'))!,
      /^43 occurrences and 4 new tickets from 2026-11-01 00:00:00 UTC to 2026-12-01 00:00:00 UTC$/,
    );
    t.deepEqual(await violations(page), []);
    await context.close();
  },
);

test.serial('keyboard alone reaches and opens a ticket; the dark scheme is dark', async (t) => {
  const context = await watchedContext(browser);
  const page = await context.newPage();
  await openView(page, `${dashboard.url}tickets?q=payment`);
  await page.keyboard.press('Tab');
  t.is(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  let presses = 1;
  while (presses < 60 && !(await page.evaluate(() => document.activeElement?.matches('td.title a') ?? false))) {
    await page.keyboard.press('Tab');
    presses++;
  }
  t.true(presses < 60, 'a ticket link is in the tab order');
  await Promise.all([page.waitForURL(/\/tickets\/\d+/), page.keyboard.press('Enter')]);
  await page.waitForSelector('body[data-ready="true"]');
  t.is(await page.textContent('h1'), 'payment failed');
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  t.is(await background(), 'rgb(255, 255, 255)');
  await page.emulateMedia({ colorScheme: 'dark' });
  t.is(await background(), 'rgb(20, 23, 29)');
  await context.close();
});
