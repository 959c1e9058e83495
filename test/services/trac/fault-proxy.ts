/**
 * A small HTTP proxy in front of the real Trac for outage tests: it passes
 * requests through, or refuses them (connection reset), stalls them (never
 * answers), or answers with an HTTP status of its choosing. Every request is
 * counted, so tests can tell how many calls a backend made.
 */

import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * `lose-answer`: the request reaches Trac, but the client gets a 500 instead
 * of Trac's answer (a create that happened, reported as failed).
 */
export type FaultMode = 'pass' | 'refuse' | 'stall' | 'lose-answer' | { status: number };

export interface FaultProxy {
  /** The proxy's URL for the same path as the target's. */
  readonly url: string;
  mode: FaultMode;
  /** Requests seen, by XML-RPC method name. */
  readonly calls: Map<string, number>;
  totalCalls(): number;
  close(): Promise<void>;
}

export async function startFaultProxy(targetUrl: string): Promise<FaultProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  const calls = new Map<string, number>();
  const state = { mode: 'pass' as FaultMode };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const method = /<methodName>([^<]+)<\/methodName>/.exec(body.toString('utf8'))?.[1] ?? '?';
      calls.set(method, (calls.get(method) ?? 0) + 1);
      const mode = state.mode;
      if (mode === 'refuse') return req.socket.destroy();
      if (mode === 'stall') return; // the socket stays open until the client gives up or the proxy closes
      if (typeof mode === 'object') {
        res.writeHead(mode.status, { 'Content-Type': 'text/plain' });
        return res.end(`proxy answered ${mode.status}`);
      }
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
        (answer) => {
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
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    get mode() {
      return state.mode;
    },
    set mode(mode: FaultMode) {
      state.mode = mode;
    },
    calls,
    totalCalls: () => [...calls.values()].reduce((a, b) => a + b, 0),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
