/**
 * The live set-up checks of the Trac backend, and where a person sees a
 * ticket. Nothing here changes Trac: each permission is learnt from a call
 * that Trac refuses either way, and the reason it gives tells the answer.
 *
 * The XML-RPC plugin cannot list a user's permissions (system.listMethods
 * names every method whoever asks, and no method reports permissions), so:
 * - XML_RPC: any call (system.getAPIVersion) is a fault 403 without it;
 * - TICKET_VIEW: ticket.getTicketFields is declared with it (fault 403);
 * - TICKET_CREATE: ticket.create is declared with it, and the plugin checks a
 *   declared permission before running the method; with an empty summary the
 *   method itself then refuses ("Tickets must contain a summary"), so a user
 *   who may create gets that fault and no ticket is made;
 * - TICKET_APPEND: ticket.update on an unsaved ticket (id nil) with a comment
 *   and a workflow action: Trac validates the change, says "No permissions to
 *   add a comment" when the user lacks it, and refuses it anyway because a
 *   ticket without a summary is invalid;
 * - TICKET_MODIFY: ticket.update without an action asks for TICKET_MODIFY
 *   first (fault 403), then refuses a stale `_ts` before it saves anything.
 *   It is made on a ticket the user can see, or an unsaved one when there is
 *   none yet (Trac's log then shows a formatting warning about the nil id).
 * Reopening is the workflow's `reopen` action, which Trac's default workflow
 * gives to TICKET_CREATE; resolving (`logtickets solve`) is `resolve`, given to
 * TICKET_MODIFY.
 *
 * Checks come in a fixed order. When one fails in a way that makes the later
 * ones meaningless (Trac unreachable, the login refused, no XML_RPC), the
 * later ones are still listed, failed, with the detail "not checked: <why>".
 */

import { asLogticketsError, maskSecrets, type LogticketsError } from '../../errors.js';
import type { SetupCheck } from '../tracker/setup-check.js';
import type { XmlRpcClient } from './xmlrpc-client.js';

export interface TracCheckTarget {
  readonly rpc: XmlRpcClient;
  /** The RPC endpoint as configured (credentials are removed before it is shown). */
  readonly url: string;
  readonly username: string | undefined;
  readonly hashField: string;
}

const NAMES = [
  'reachable',
  'authenticated',
  'XML_RPC permission',
  'may view tickets',
  'may create tickets',
  'may comment',
  'may reopen and resolve',
  'fingerprint field',
] as const;

type Outcome<T> = { value: T; error?: undefined } | { value?: undefined; error: LogticketsError };

async function attempt<T>(run: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { value: await run() };
  } catch (error) {
    return { error: asLogticketsError(error, { code: 'TRACKER_FAULT' }) };
  }
}

/** The error's message without the method name the client puts first. */
const reason = (error: LogticketsError): string => error.message.replace(/^[\w.]+: /, '');
const denied = (error: LogticketsError | undefined): boolean => error?.code === 'PERMISSION_DENIED';

/**
 * For a probe Trac must refuse: true when it got past the permission and was
 * refused for another reason (a TracError, fault 1), false when the permission
 * was missing, undefined when the answer says neither.
 */
function permitted(outcome: Outcome<unknown>): boolean | undefined {
  if (denied(outcome.error)) return false;
  return outcome.error?.faultCode === 1 ? true : undefined;
}

function unexpected(outcome: Outcome<unknown>): string {
  return outcome.error === undefined ? 'Trac accepted a change it should have refused' : reason(outcome.error);
}

export async function checkTracSetup(target: TracCheckTarget): Promise<SetupCheck[]> {
  const { rpc, hashField } = target;
  const endpoint = withoutCredentials(target.url);
  const user = target.username ?? 'anonymous';
  const grant = (...permissions: string[]) =>
    `fix: trac-admin /path/to/env permission add ${user} ${permissions.join(' ')} (or Admin → Permissions in the web UI)`;
  const checks: SetupCheck[] = [];
  const add = (ok: boolean, detail: string): void => {
    checks.push({ name: NAMES[checks.length]!, ok, detail: maskSecrets(detail) });
  };
  const stop = (why: string): SetupCheck[] => [
    ...checks,
    ...NAMES.slice(checks.length).map((name) => ({ name, ok: false, detail: `not checked: ${why}` })),
  ];

  // reachable, authenticated, XML_RPC: one call tells all three.
  const version = await attempt(() => rpc.call<number[]>('system.getAPIVersion'));
  const first = version.error;
  if (first !== undefined && first.code !== 'AUTH_FAILED' && !denied(first)) {
    add(false, `no XML-RPC answer from ${endpoint}: ${reason(first)}`);
    return stop('Trac is not reachable');
  }
  add(
    true,
    version.error === undefined
      ? `Trac XML-RPC API ${version.value.join('.')} at ${endpoint}`
      : `Trac answers at ${endpoint} (it tells its API version only ${denied(first) ? 'to users with XML_RPC' : 'after login'})`,
  );
  if (first?.code === 'AUTH_FAILED') {
    add(
      false,
      target.username === undefined
        ? 'Trac asks for a login (HTTP 401): set username and password'
        : `Trac refused the login of ${user} (HTTP 401): check username and password`,
    );
    return stop('Trac did not accept the login');
  }
  add(true, target.username === undefined ? 'no username set: calls are made as anonymous' : `logged in as ${user}`);
  if (denied(first)) {
    add(false, `${user} lacks XML_RPC, which every call needs: ${grant('XML_RPC')}`);
    return stop(`${user} lacks XML_RPC`);
  }
  add(true, `${user} has XML_RPC`);

  // may view tickets (and, with the same answer, the fingerprint field below)
  const fields = await attempt(() =>
    rpc.call<Array<{ name: string; type?: string; custom?: boolean }>>('ticket.getTicketFields'),
  );
  if (fields.error === undefined) add(true, `${user} has TICKET_VIEW`);
  else if (denied(fields.error))
    add(
      false,
      `${user} lacks TICKET_VIEW: Trac would hide every ticket from it, so logtickets could not find a problem's ticket again and would open duplicates; ${grant('TICKET_VIEW')}`,
    );
  else add(false, `could not tell: ${reason(fields.error)}`);

  // may create tickets: refused either way, for want of a summary or of TICKET_CREATE.
  const create = await attempt(() => rpc.call<number>('ticket.create', ['', '', {}, false]));
  const mayCreate = permitted(create);
  if (mayCreate === true) add(true, `${user} has TICKET_CREATE`);
  else if (mayCreate === false)
    add(false, `${user} lacks TICKET_CREATE: logtickets cannot open tickets; ${grant('TICKET_CREATE')}`);
  else add(false, `could not tell (check that ${user} has TICKET_CREATE): ${unexpected(create)}`);

  // may comment
  add(...(await commentCheck(rpc, user, grant('TICKET_APPEND'))));

  // may reopen and resolve
  const visible = await attempt(() => rpc.call<number[]>('ticket.query', ['max=1&order=id']));
  const id = visible.value?.[0] ?? null;
  const modify = await attempt(() => rpc.call('ticket.update', [id, '', { _ts: '1' }, false]));
  const mayModify = permitted(modify);
  const missing = [
    ...(mayCreate === false ? ['TICKET_CREATE'] : []),
    ...(mayModify === false ? ['TICKET_MODIFY'] : []),
  ];
  if (missing.length > 0)
    add(
      false,
      [
        mayCreate === false
          ? 'without TICKET_CREATE a regression cannot reopen its closed ticket (it is only commented)'
          : '',
        mayModify === false ? 'without TICKET_MODIFY logtickets solve cannot resolve tickets' : '',
      ]
        .filter(Boolean)
        .join('; ') + ` (as Trac's default workflow has it); ${grant(...missing)}`,
    );
  else if (mayCreate === undefined || mayModify === undefined)
    add(
      false,
      `could not tell (check that ${user} has TICKET_CREATE and TICKET_MODIFY): ${unexpected(mayModify === undefined ? modify : create)}`,
    );
  else
    add(
      true,
      `${user} has TICKET_CREATE (Trac's default workflow asks it for "reopen", used on regressions) and TICKET_MODIFY (for "resolve", used by logtickets solve)`,
    );

  // fingerprint field
  if (fields.error !== undefined) {
    add(false, `not checked: the ticket fields could not be read (see "may view tickets")`);
    return checks;
  }
  const field = fields.value.find((f) => f.name === hashField);
  if (field === undefined)
    add(
      false,
      `Trac has no custom field "${hashField}", so logtickets keeps the fingerprint in the keywords field instead (logtickets:HASH). ` +
        `Add it with: trac-admin /path/to/env config set ticket-custom ${hashField} text — or in trac.ini: [ticket-custom] ${hashField} = text`,
    );
  else if (field.type !== undefined && field.type !== 'text' && field.type !== 'textarea')
    add(
      false,
      `the field "${hashField}" is a ${field.type} field; the fingerprint needs a text field: [ticket-custom] ${hashField} = text in trac.ini`,
    );
  else add(true, `custom text field "${hashField}" holds the fingerprint`);
  return checks;
}

/**
 * TICKET_APPEND, asked with a comment on an unsaved ticket: Trac names the
 * missing permission among its reasons for refusing (in English, unless the
 * Trac speaks another language; then the check says it could not tell).
 */
async function commentCheck(rpc: XmlRpcClient, user: string, grant: string): Promise<[boolean, string]> {
  const actions = await attempt(() => rpc.call<Array<[string, ...unknown[]]>>('ticket.getActions', [null]));
  if (actions.error !== undefined) return [false, `could not tell: ${reason(actions.error)}`];
  const names = actions.value.map(([name]) => name);
  const action = names.includes('create') ? 'create' : names[0];
  if (action === undefined) return [false, "could not tell: Trac's workflow offers no action for a new ticket"];
  const probe = await attempt(() => rpc.call('ticket.update', [null, 'logtickets set-up check', { action }, false]));
  const text = probe.error?.faultCode === 1 ? probe.error.message : '';
  if (/No permissions? to add a comment/i.test(text))
    return [false, `${user} lacks TICKET_APPEND: later occurrences and regressions cannot be commented; ${grant}`];
  if (/summary/i.test(text)) return [true, `${user} has TICKET_APPEND`];
  return [false, `could not tell (check that ${user} has TICKET_APPEND): ${unexpected(probe)}`];
}

/** The URL without user, password, query or fragment. */
function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return maskSecrets(url);
  }
}

/**
 * Where a person sees Trac ticket `id`: the project's root (the RPC URL without
 * its `/rpc`, `/login/rpc`, `/xmlrpc`, `/login/xmlrpc`, `/jsonrpc` or
 * `/login/jsonrpc`), then `/ticket/<id>`.
 */
export function tracTicketUrl(url: string, id: string): string {
  const root = withoutCredentials(url)
    .replace(/\/+$/, '')
    .replace(/\/(?:login\/)?(?:xml|json)?rpc$/, '');
  return `${root}/ticket/${encodeURIComponent(id)}`;
}
