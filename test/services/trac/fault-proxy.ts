/**
 * A small HTTP proxy in front of the real Trac for outage tests: it passes
 * requests through, or refuses them (connection reset), stalls them (never
 * answers), or answers with an HTTP status of its choosing. Every request is
 * counted, so tests can tell how many calls a backend made.
 *
 * A fault applies to every request (`proxy.mode = …`), or only to some
 * XML-RPC methods and a number of times, after which the proxy passes
 * requests again: `proxy.fault('hold-answer', { methods: /^ticket\.create$/, times: 1 })`.
 */

import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * - `refuse`: the connection is reset before anything reaches Trac.
 * - `stall`: nothing reaches Trac and no answer comes.
 * - `lose-answer`: the request reaches Trac, but the client gets a 500
 *   instead of Trac's answer (a create that happened, reported as failed).
 * - `hold-answer`: the request reaches Trac, which acts on it, and the
 *   client never hears back: its connection stays open and silent (a process
 *   killed mid-request, a network cut after the server acted).
 * - `{ status }`: the proxy answers with that HTTP status; nothing reaches Trac.
 */
export type FaultMode = 'pass' | 'refuse' | 'stall' | 'lose-answer' | 'hold-answer' | { status: number };

export interface FaultScope {
  /** Only requests whose XML-RPC method name matches (default: every request). */
  readonly methods?: RegExp;
  /** Only this many matching requests; then the proxy passes everything (default: no limit). */
  readonly times?: number;
}

export interface FaultProxy {
  /** The proxy's URL for the same path as the target's. */
  readonly url: string;
  /** The fault in force (`pass` once a limited one is used up); setting it applies it to every request, with no limit. */
  mode: FaultMode;
  /** Apply a fault to the requests in `scope`; other requests pass. Replaces the fault in force. */
  fault(mode: FaultMode, scope?: FaultScope): void;
  /** Requests seen, by XML-RPC method name. */
  readonly calls: Map<string, number>;
  totalCalls(): number;
  /** Requests a fault (other than `pass`) was applied to. */
  faulted(): number;
  /** Resolves once `count` requests (default 1) in all have had a fault applied. */
  untilFaulted(count?: number): Promise<void>;
  /** Resolves once Trac has answered every request forwarded to it, held and lost answers included. */
  settled(): Promise<void>;
  /** Reset the connections of held answers now (the client sees the connection cut); Trac's work is not undone. */
  cutHeld(): void;
  close(): Promise<void>;
}

interface Fault {
  mode: FaultMode;
  methods: RegExp | undefined;
  left: number;
}

export async function startFaultProxy(targetUrl: string): Promise<FaultProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  const held = new Set<Socket>();
  const upstreams = new Set<Promise<void>>();
  const calls = new Map<string, number>();
  let fault: Fault = { mode: 'pass', methods: undefined, left: Infinity };
  let faultedCount = 0;
  const waiters: Array<{ count: number; resolve: () => void }> = [];

  /** The mode for a request to `method`, spending one use of a limited fault. */
  function modeFor(method: string): FaultMode {
    if (fault.mode === 'pass' || fault.left <= 0) return 'pass';
    if (fault.methods !== undefined && !fault.methods.test(method)) return 'pass';
    fault.left -= 1;
    faultedCount += 1;
    for (const waiter of waiters.filter((w) => w.count <= faultedCount)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    return fault.mode;
  }

  /** Send the request on to Trac; `answer` gets Trac's response. Tracked until Trac has answered. */
  function forward(req: IncomingMessage, body: Buffer, res: ServerResponse, answer: (a: IncomingMessage) => void) {
    let done!: () => void;
    const tracked = new Promise<void>((resolve) => (done = resolve));
    upstreams.add(tracked);
    void tracked.then(() => upstreams.delete(tracked));
    const upstream = request(
      {
        hostname: target.hostname,
        port: target.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: target.host },
        // A fresh connection per request: tracd does not cope with reused ones.
        agent: false,
      },
      (a) => {
        a.on('end', done);
        a.on('error', done);
        a.on('close', done);
        answer(a);
      },
    );
    upstream.on('error', () => {
      done();
      res.destroy();
    });
    upstream.end(body);
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const method = /<methodName>([^<]+)<\/methodName>/.exec(body.toString('utf8'))?.[1] ?? '?';
      calls.set(method, (calls.get(method) ?? 0) + 1);
      const mode = modeFor(method);
      if (mode === 'refuse') return req.socket.destroy();
      if (mode === 'stall') return; // the socket stays open until the client gives up or the proxy closes
      if (typeof mode === 'object') {
        res.writeHead(mode.status, { 'Content-Type': 'text/plain' });
        return res.end(`proxy answered ${mode.status}`);
      }
      if (mode === 'hold-answer') held.add(req.socket);
      forward(req, body, res, (answer) => {
        if (mode === 'hold-answer') return void answer.resume();
        if (mode === 'lose-answer') {
          answer.resume();
          answer.on('end', () => {
            res.writeHead(500, { 'Content-Type': 'text/plain' });
            res.end('answer lost on the way back');
          });
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      held.delete(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  const setFault = (mode: FaultMode, scope: FaultScope = {}) => {
    const times = scope.times ?? Infinity;
    if (times !== Infinity && (!Number.isInteger(times) || times < 0)) throw new Error('times must be an integer >= 0');
    // A global or sticky pattern would remember where it last matched: keep only its other flags.
    const methods =
      scope.methods === undefined
        ? undefined
        : new RegExp(scope.methods.source, scope.methods.flags.replace(/[gy]/g, ''));
    fault = { mode, methods, left: times };
  };

  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    get mode() {
      return fault.left > 0 ? fault.mode : 'pass';
    },
    set mode(mode: FaultMode) {
      setFault(mode);
    },
    fault: setFault,
    calls,
    totalCalls: () => [...calls.values()].reduce((a, b) => a + b, 0),
    faulted: () => faultedCount,
    untilFaulted: (count = 1) =>
      count <= faultedCount ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve })),
    async settled() {
      while (upstreams.size > 0) await Promise.all([...upstreams]);
    },
    cutHeld() {
      for (const socket of held) socket.destroy();
      held.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of held) socket.destroy();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
