/**
 * The dashboard's defences over real HTTP: loopback by default, a token
 * everywhere else (header or the cookie of a `?token=` visit, in a real
 * browser), Host names checked on loopback, read-only unless asked, strict
 * headers on every answer, and errors that name the bad parameter.
 */

import test from 'ava';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBackend } from '../../src/index.js';
import { startDashboard } from '../../src/web/server.js';
import { launchBrowser, listedTickets, openView, watchedContext } from './browser.js';

const TOKEN = 'a-long-dashboard-token-0123456789';

function get(
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

async function seeded(): Promise<MemoryBackend> {
  const store = new MemoryBackend();
  await store.recordBatch([
    {
      hash: 'a'.repeat(40),
      appId: 'app',
      level: 14,
      channel: 'c',
      location: 'a.ts:1',
      function: null,
      title: 'boom',
      time: new Date().toISOString(),
      data: { message: 'boom' },
    },
  ]);
  return store;
}

test('off loopback without a token it refuses to start, naming the way out', async (t) => {
  const store = await seeded();
  const error = await t.throwsAsync(startDashboard({ store, host: '0.0.0.0', port: 0 }));
  t.is((error as { code?: string }).code, 'INVALID_ARGUMENT');
  t.regex(error!.message, /needs a token: give --token or LOGTICKETS_TOKEN/);
  await t.throwsAsync(startDashboard({ store, host: '0.0.0.0', port: 0, token: 'short' }), {
    message: /at least 16 characters/,
  });
});

test('off loopback every request needs the token; a browser signs in once with ?token= and keeps a cookie without it', async (t) => {
  const store = await seeded();
  const dashboard = await startDashboard({ store, host: '0.0.0.0', port: 0, token: TOKEN });
  const base = `http://127.0.0.1:${dashboard.port}`;
  try {
    const denied = await get(`${base}/api/tickets`);
    t.is(denied.status, 401);
    t.false(denied.body.includes(TOKEN));
    t.is((await get(`${base}/api/tickets`, { authorization: 'Bearer wrong-token-wrong-token' })).status, 401);
    t.is((await get(`${base}/assets/app.js`)).status, 401);
    const allowed = await get(`${base}/api/tickets`, { authorization: `Bearer ${TOKEN}` });
    t.is(allowed.status, 200);
    t.is((JSON.parse(allowed.body) as { total: number }).total, 1);

    const browser = await launchBrowser();
    try {
      const context = await watchedContext(browser);
      const page = await context.newPage();
      await openView(page, `${base}/tickets?token=${TOKEN}`);
      t.is(new URL(page.url()).search, '');
      t.is((await listedTickets(page)).length, 1);
      const cookies = await context.cookies();
      t.is(cookies.length, 1);
      t.true(cookies[0]!.httpOnly);
      t.is(cookies[0]!.sameSite, 'Strict');
      t.false(cookies[0]!.value.includes(TOKEN));
      const stranger = await (await watchedContext(browser)).newPage();
      const response = await stranger.goto(`${base}/tickets`);
      t.is(response!.status(), 401);
    } finally {
      await browser.close();
    }
  } finally {
    await dashboard.close();
  }
});

test('on loopback it answers only to loopback host names (no DNS rebinding)', async (t) => {
  const dashboard = await startDashboard({ store: await seeded(), port: 0 });
  try {
    const url = `http://127.0.0.1:${dashboard.port}/api/tickets`;
    t.is((await get(url)).status, 200);
    t.is((await get(url, { host: `localhost:${dashboard.port}` })).status, 200);
    t.is((await get(url, { host: `attacker.example:${dashboard.port}` })).status, 421);
  } finally {
    await dashboard.close();
  }
});

test('read-only by default; strict headers on pages and answers', async (t) => {
  const dashboard = await startDashboard({ store: await seeded(), port: 0 });
  try {
    const page = await get(dashboard.url);
    t.is(page.status, 200);
    t.regex(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
    t.is(page.headers['x-content-type-options'], 'nosniff');
    t.is(page.headers['x-frame-options'], 'DENY');
    t.false(page.body.includes('logtickets-csrf'));
    const write = await get(`${dashboard.url}api/tickets/1/state`, { 'content-type': 'application/json' }, 'POST');
    t.is(write.status, 403);
    t.regex(write.body, /read-only: start it with --allow-writes/);
    t.is((await get(dashboard.url, {}, 'DELETE')).status, 405);
  } finally {
    await dashboard.close();
  }
});

test('bad parameters are 400s that name the parameter; unknown tickets are 404s', async (t) => {
  const dashboard = await startDashboard({ store: await seeded(), port: 0 });
  const error = async (path: string) => {
    const answer = await get(`${dashboard.url}${path}`);
    return [answer.status, (JSON.parse(answer.body) as { error: string }).error] as const;
  };
  try {
    t.deepEqual(await error('api/tickets?period=2w'), [400, 'period must be one of 24h, 7d, 30d or custom, got "2w"']);
    t.regex((await error('api/tickets?state=closed'))[1], /^state must be all or a comma-separated list/);
    t.regex((await error('api/tickets?level=LOUD'))[1], /^level must be a level name/);
    t.regex((await error('api/tickets?sort=title'))[1], /^sort must be one of/);
    t.regex((await error('api/tickets?limit=5000'))[1], /^limit must be an integer from 1 to 200/);
    t.regex((await error('api/tickets?from=2026-11-01T00:00Z'))[1], /needs both from and to/);
    t.regex(
      (await error('api/tickets/1/histogram?period=30d&bucket=minute'))[1],
      /would have 43\d\d\d buckets; at most 2000/,
    );
    t.deepEqual(await error('api/tickets/999'), [404, 'no ticket with id 999']);
    t.deepEqual(await error('api/tickets/abc'), [404, 'no ticket with id "abc"']);
    t.deepEqual(await error('api/nothing'), [404, 'no API "/api/nothing"']);
  } finally {
    await dashboard.close();
  }
});
