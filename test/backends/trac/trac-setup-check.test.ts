import test, { type ExecutionContext } from 'ava';
import net from 'node:net';
import { TracTracker, type TracTrackerOptions } from '../../../src/index.js';
import type { SetupCheck } from '../../../src/backends/tracker/setup-check.js';
import { serverAvailable } from '../../services/availability.js';
import { startTrac, tracCall, tracUnavailableReason, type TracServer } from '../../services/trac/trac-server.js';

const NAMES = [
  'reachable',
  'authenticated',
  'XML_RPC permission',
  'may view tickets',
  'may create tickets',
  'may comment',
  'may reopen and resolve',
  'fingerprint field',
];

// One server for this file, with a user lacking each permission that matters.
// Its tests run one at a time, so that this file adds little load to the other
// Trac test files running beside it (some of them time their calls).
let shared: Promise<TracServer> | undefined;
const trac = () =>
  (shared ??= startTrac({
    users: {
      'no-append': ['XML_RPC', 'TICKET_VIEW', 'TICKET_CREATE'],
      'no-view': ['XML_RPC', 'TICKET_CREATE', 'TICKET_APPEND', 'TICKET_MODIFY'],
      'no-xmlrpc': ['TICKET_VIEW', 'TICKET_CREATE', 'TICKET_APPEND', 'TICKET_MODIFY'],
    },
  }));
test.after.always(async () => {
  if (shared !== undefined) await (await shared).stop();
});

/** The checks a backend with these settings reports; no detail may show the password. */
async function checksOf(t: ExecutionContext, options: TracTrackerOptions): Promise<Record<string, SetupCheck>> {
  const backend = new TracTracker({ timeoutMs: 10_000, ...options });
  t.teardown(() => backend.close());
  const checks = await backend.checkSetup();
  t.deepEqual(
    checks.map((c) => c.name),
    NAMES,
  );
  for (const c of checks) {
    t.true(c.detail.length > 0, c.name);
    if (options.password) t.false(c.detail.includes(options.password), `${c.name} shows the password`);
  }
  return Object.fromEntries(checks.map((c) => [c.name, c]));
}

function as(server: TracServer, name: string): Pick<TracTrackerOptions, 'url' | 'username' | 'password'> {
  const user = server.users[name];
  if (user === undefined) throw new Error(`this Trac has no user ${name} (an external server?)`);
  return { url: server.url, ...user };
}

function assertPassed(t: ExecutionContext, checks: Record<string, SetupCheck>, names: string[]): void {
  for (const name of names) t.true(checks[name]!.ok, `${name}: ${checks[name]!.detail}`);
}

function assertNotChecked(t: ExecutionContext, checks: Record<string, SetupCheck>, after: string): void {
  for (const name of NAMES.slice(NAMES.indexOf(after) + 1)) {
    t.false(checks[name]!.ok, name);
    t.regex(checks[name]!.detail, /^not checked: /, name);
  }
}

test('ticketUrl is the project root without the RPC path, then /ticket/ID', (t) => {
  const url = (rpc: string) => new TracTracker({ url: rpc }).ticketUrl('42');
  t.is(url('https://trac.example.org/login/rpc'), 'https://trac.example.org/ticket/42');
  t.is(url('https://trac.example.org/rpc'), 'https://trac.example.org/ticket/42');
  t.is(url('https://example.org/projects/shop/login/xmlrpc'), 'https://example.org/projects/shop/ticket/42');
  t.is(url('https://example.org/projects/shop/xmlrpc/'), 'https://example.org/projects/shop/ticket/42');
  t.is(url('http://127.0.0.1:8000/shop/jsonrpc'), 'http://127.0.0.1:8000/shop/ticket/42');
  t.is(url('http://127.0.0.1:8000/shop/login/jsonrpc'), 'http://127.0.0.1:8000/shop/ticket/42');
  t.is(url('https://bot:s3cret@trac.example.org/login/rpc?x=1'), 'https://trac.example.org/ticket/42');
});

if (serverAvailable(test, 'Trac', tracUnavailableReason())) {
  test.serial('the bot: every check passes, and Trac is left as it was', async (t) => {
    const server = await trac();
    // A ticket the bot can see, so the probes that need one use it.
    const id = (await tracCall(server, 'ticket.create', ['seen by the bot', 'text', {}], 'admin')) as number;
    const before = await tracCall(server, 'ticket.get', [id], 'admin');
    const tickets = await tracCall(server, 'ticket.query', ['max=0'], 'admin');

    const checks = await checksOf(t, { url: server.url, username: server.username, password: server.password });
    assertPassed(t, checks, NAMES);
    t.regex(checks['reachable']!.detail, /API 1\.\d+\.\d+/);
    t.regex(checks['may reopen and resolve']!.detail, /TICKET_CREATE.*TICKET_MODIFY/);

    t.deepEqual(await tracCall(server, 'ticket.get', [id], 'admin'), before, 'the ticket is unchanged');
    t.deepEqual(await tracCall(server, 'ticket.query', ['max=0'], 'admin'), tickets, 'no ticket was created');
  });

  test.serial('a user without TICKET_APPEND and TICKET_MODIFY is told which to grant', async (t) => {
    const server = await trac();
    const checks = await checksOf(t, as(server, 'no-append'));
    assertPassed(t, checks, NAMES.slice(0, 5));
    t.false(checks['may comment']!.ok);
    t.regex(checks['may comment']!.detail, /lacks TICKET_APPEND/);
    t.regex(checks['may comment']!.detail, /trac-admin \S+ permission add no-append TICKET_APPEND/);
    t.false(checks['may reopen and resolve']!.ok);
    t.regex(checks['may reopen and resolve']!.detail, /TICKET_MODIFY/);
    t.notRegex(checks['may reopen and resolve']!.detail, /TICKET_CREATE/, 'it has TICKET_CREATE');
    t.true(checks['fingerprint field']!.ok);
  });

  test.serial('a user without XML_RPC: that check fails, the later ones are not checked', async (t) => {
    const server = await trac();
    const checks = await checksOf(t, as(server, 'no-xmlrpc'));
    assertPassed(t, checks, ['reachable', 'authenticated']);
    t.false(checks['XML_RPC permission']!.ok);
    t.regex(checks['XML_RPC permission']!.detail, /permission add no-xmlrpc XML_RPC/);
    assertNotChecked(t, checks, 'XML_RPC permission');
  });

  test.serial('a user without TICKET_VIEW is warned of duplicates; the field check needs it', async (t) => {
    const server = await trac();
    // Trac shows it no ticket, so every probe runs on an unsaved one.
    const checks = await checksOf(t, as(server, 'no-view'));
    t.false(checks['may view tickets']!.ok);
    t.regex(checks['may view tickets']!.detail, /TICKET_VIEW.*duplicates/);
    assertPassed(t, checks, ['may create tickets', 'may comment', 'may reopen and resolve']);
    t.false(checks['fingerprint field']!.ok);
    t.regex(checks['fingerprint field']!.detail, /^not checked: /);
  });

  test.serial('a wrong password fails `authenticated`, without showing the password', async (t) => {
    const server = await trac();
    const password = 'wrong-Pa55word';
    const checks = await checksOf(t, { url: server.url, username: server.username, password });
    t.true(checks['reachable']!.ok);
    t.false(checks['authenticated']!.ok);
    t.regex(checks['authenticated']!.detail, /check username and password/);
    assertNotChecked(t, checks, 'authenticated');
  });

  test.serial('a closed port fails `reachable`; nothing else is checked', async (t) => {
    const port = await closedPort();
    const checks = await checksOf(t, {
      url: `http://127.0.0.1:${port}/logtickets/login/rpc`,
      username: 'logtickets-bot',
      password: 'secret-password',
    });
    t.false(checks['reachable']!.ok);
    t.regex(checks['reachable']!.detail, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assertNotChecked(t, checks, 'reachable');
  });

  test.serial('a Trac without the custom field: the field check fails and says how to add it', async (t) => {
    // This Trac has no field of that name, as one without [ticket-custom] has
    // none named logtickets_hash (one tracd for the file keeps the load low).
    const server = await trac();
    const checks = await checksOf(t, {
      url: server.url,
      username: server.username,
      password: server.password,
      hashField: 'no_such_field',
    });
    assertPassed(t, checks, NAMES.slice(0, -1));
    const field = checks['fingerprint field']!;
    t.false(field.ok);
    t.regex(field.detail, /no custom field "no_such_field"/);
    t.regex(field.detail, /keywords/);
    t.regex(field.detail, /trac-admin \S+ config set ticket-custom no_such_field text/);
    t.regex(field.detail, /\[ticket-custom\] no_such_field = text/);
  });
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
