/**
 * A real browser for the dashboard's tests: Debian's chromium driven by
 * playwright-core (installed by .ci/run; LOGTICKETS_CHROMIUM names another
 * binary). Every page counts Content-Security-Policy violations and notes
 * whether any script from a record ran (`window.__pwned`). Screenshots go to
 * test-artifacts/.
 */

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const ARTIFACTS = join(process.cwd(), 'test-artifacts');

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.LOGTICKETS_CHROMIUM ?? '/usr/bin/chromium',
    // Headless and without the sandbox (CI runs as root), as playwright sets them; and nothing that reaches for the internet.
    args: [
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A fresh context whose pages count CSP violations and start with no `__pwned`. */
export async function watchedContext(browser: Browser, options: { offline?: boolean } = {}): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    offline: options.offline ?? false,
  });
  await context.addInitScript(() => {
    const w = window as unknown as { __violations: string[] };
    w.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      w.__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return context;
}

/** Open a page and wait until the dashboard has rendered its view (or its error). */
export async function openView(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]');
}

export async function violations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __violations: string[] }).__violations);
}

export async function pwned(page: Page): Promise<unknown> {
  return page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned);
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, name);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The histogram's table: bucket start → count, non-empty buckets only. */
export async function histogramRows(page: Page, index = 0): Promise<Array<[string, number]>> {
  return page.$$eval(
    'table.buckets',
    (tables, i) =>
      [...(tables[i as number]?.querySelectorAll('tbody tr') ?? [])].map((tr) => [
        tr.getAttribute('data-start') ?? '',
        Number(tr.getAttribute('data-count')),
      ]),
    index,
  ) as Promise<Array<[string, number]>>;
}

export async function listedTickets(page: Page): Promise<number[]> {
  return page.$$eval('table.tickets tbody tr', (rows) => rows.map((r) => Number(r.getAttribute('data-ticket'))));
}

/** Ids in ascending order, to compare sets of tickets. */
export function sorted(ids: readonly number[]): number[] {
  return [...ids].sort((a, b) => a - b);
}
