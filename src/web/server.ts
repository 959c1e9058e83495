/**
 * `logtickets serve`: the dashboard over any store, on node:http (a JSON API
 * and one page shell need no framework). Read-only unless writes are allowed;
 * loopback unless a token is given (security.ts).
 *
 *   GET  /, /tickets, /tickets/:id          the page shell; the page script renders the view
 *   GET  /assets/app.js, /assets/app.css    the bundled page script and styles
 *   GET  /api/...                           the JSON API (api.ts)
 *   POST /api/tickets/:id/state             {"state": "solved" | "open" | "muted"}, with --allow-writes
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LogticketsError, maskSecrets } from '../errors.js';
import { ApiError } from './api-error.js';
import { idParam } from './api-params.js';
import { DashboardApi, type DashboardSource } from './api.js';
import { webAssets } from './assets.js';
import {
  COMMON_HEADERS,
  csrfToken,
  isLoopback,
  loopbackHostAllowed,
  sameSecret,
  TOKEN_COOKIE,
  TokenCheck,
} from './security.js';

export interface DashboardOptions extends DashboardSource {
  /** Default 127.0.0.1. Any other address needs `token`. */
  readonly host?: string;
  /** Default 7070; 0 for any free port. */
  readonly port?: number;
  /** Required off loopback; when given, required on every request everywhere. */
  readonly token?: string;
  /** Let the pages solve, reopen and mute tickets (default false: read-only). */
  readonly allowWrites?: boolean;
  /** Where a failed request is reported (one line, credentials masked); default stderr. */
  readonly log?: (line: string) => void;
}

export interface Dashboard {
  /** The address to open, e.g. `http://127.0.0.1:7070/`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const MAX_BODY = 4_096;

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token === undefined || options.token === '' ? undefined : options.token;
  if (!isLoopback(host) && token === undefined) {
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      `serving on ${host} (not loopback) needs a token: give --token or LOGTICKETS_TOKEN, or serve on 127.0.0.1`,
    );
  }
  if (token !== undefined && token.length < 16) {
    throw new LogticketsError('INVALID_ARGUMENT', 'the token must be at least 16 characters long');
  }
  const assets = webAssets();
  const api = new DashboardApi(options);
  const check = token === undefined ? undefined : new TokenCheck(token);
  const csrf = options.allowWrites === true ? csrfToken() : undefined;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let port = 0;
  const handler = (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response).catch((error: unknown) => answerError(response, error, log));
  };
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://dashboard.invalid');
    if (check === undefined && !loopbackHostAllowed(request.headers.host, port)) {
      throw new ApiError(421, 'this dashboard answers only to a loopback host name');
    }
    if (check !== undefined) {
      const offered = url.searchParams.get('token');
      if (offered !== null && request.method === 'GET' && check.matches(offered)) {
        url.searchParams.delete('token');
        response.writeHead(303, {
          ...COMMON_HEADERS,
          location: `${url.pathname}${url.search}`,
          'set-cookie': `${TOKEN_COOKIE}=${check.sessionValue}; HttpOnly; SameSite=Strict; Path=/`,
        });
        response.end();
        return;
      }
      if (!check.allows(request))
        throw new ApiError(
          401,
          'a token is required: open the dashboard with ?token=…, or send Authorization: Bearer …',
        );
    }
    const path = url.pathname;
    if (request.method === 'POST') {
      await write(request, response, path);
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD')
      throw new ApiError(405, `${request.method} is not allowed`);
    if (path === '/assets/app.js') return send(response, 200, 'text/javascript; charset=utf-8', assets.script);
    if (path === '/assets/app.css') return send(response, 200, 'text/css; charset=utf-8', assets.style);
    if (path === '/favicon.ico') return send(response, 204, 'image/x-icon', '');
    if (path === '/' || path === '/tickets' || /^\/tickets\/[^/]+$/.test(path)) {
      return send(response, 200, 'text/html; charset=utf-8', shell(csrf));
    }
    if (path.startsWith('/api/')) return sendJson(response, 200, await read(path, url.searchParams));
    throw new ApiError(404, `no page ${JSON.stringify(path.slice(0, 200))}`);
  };
  const read = (path: string, params: URLSearchParams): Promise<unknown> => {
    if (path === '/api/tickets') return api.tickets(params);
    if (path === '/api/overview') return api.overview(params);
    const match = /^\/api\/tickets\/([^/]+)(?:\/(histogram|occurrences))?$/.exec(path);
    if (match === null) throw new ApiError(404, `no API ${JSON.stringify(path.slice(0, 200))}`);
    const id = idParam(match[1]!);
    if (match[2] === 'histogram') return api.histogram(id, params);
    if (match[2] === 'occurrences') return api.occurrences(id, params);
    return api.ticket(id, params);
  };
  const write = async (request: IncomingMessage, response: ServerResponse, path: string) => {
    const match = /^\/api\/tickets\/([^/]+)\/state$/.exec(path);
    if (match === null) throw new ApiError(404, `no API ${JSON.stringify(path.slice(0, 200))}`);
    if (csrf === undefined)
      throw new ApiError(403, 'this dashboard is read-only: start it with --allow-writes to change tickets');
    const offered = request.headers['x-logtickets-csrf'];
    if (typeof offered !== 'string' || !sameSecret(offered, csrf))
      throw new ApiError(403, 'missing or wrong CSRF token');
    if (request.headers['sec-fetch-site'] !== undefined && request.headers['sec-fetch-site'] !== 'same-origin') {
      throw new ApiError(403, 'only the dashboard itself may change tickets');
    }
    if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) throw new ApiError(415, 'send JSON');
    const body = await readBody(request);
    let state: unknown;
    try {
      state = (JSON.parse(body) as { state?: unknown }).state;
    } catch {
      throw new ApiError(400, 'the body must be JSON: {"state": "solved" | "open" | "muted"}');
    }
    sendJson(response, 200, await api.setState(idParam(match[1]!), state));
  };
  const server = createServer(handler);
  await listen(server, options.port ?? 7070, host);
  port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function shell(csrf: string | undefined): string {
  const meta = csrf === undefined ? '' : `<meta name="logtickets-csrf" content="${csrf}">`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">${meta}<title>logtickets</title>
<link rel="stylesheet" href="/assets/app.css"></head>
<body><div id="app"></div><script src="/assets/app.js" defer></script></body></html>
`;
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { ...COMMON_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  send(response, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

function answerError(response: ServerResponse, error: unknown, log: (line: string) => void): void {
  let status = 500;
  let message: string;
  if (error instanceof ApiError) {
    status = error.status;
    message = error.message;
  } else if (error instanceof LogticketsError) {
    status =
      error.code === 'TICKET_NOT_FOUND' ? 404 : error.code === 'INVALID_ARGUMENT' ? 400 : error.retryable ? 503 : 500;
    message = maskSecrets(error.message);
  } else {
    message = 'the dashboard failed';
  }
  if (status >= 500) log(`logtickets serve: ${maskSecrets(error instanceof Error ? error.message : String(error))}`);
  if (response.headersSent) {
    response.destroy();
    return;
  }
  sendJson(response, status, { error: message });
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new ApiError(413, 'the body is too large'));
        request.destroy();
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => {
      reject(
        new LogticketsError(
          'INVALID_ARGUMENT',
          error.code === 'EADDRINUSE'
            ? `port ${port} on ${host} is in use: choose another with --port`
            : `cannot listen on ${host}:${port}: ${error.message}`,
        ),
      );
    };
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}
