/**
 * `logtickets demo`: the main job in one command. Starts a few processes of
 * the pretend shop, each logging through a TicketingHandler into the same
 * store (by default the embedded SQLite file), then prints the tickets they
 * made: one per problem, with exact counts across processes.
 */

import { spawn } from 'node:child_process';
import { relative } from 'node:path';
import { openBackend } from '../backends/open-backend.js';
import { UsageError } from '../cli/usage-error.js';
import { plural } from '../cli/format.js';
import { intFlag, list, type Flags } from '../cli/ticket-commands.js';
import { TicketingHandler } from '../ticketing/ticketing-handler.js';
import { handlerOptions, openConfigured } from '../config/create-handler.js';
import { loadConfig } from '../config/load-config.js';
import { seeded, serveRound } from './shop-service.js';

/** `configPath`: a config file whose handler settings, redaction and trackers the shop processes use. */
export async function runDemo(uri: string, flags: Flags, configPath?: string): Promise<string> {
  const rounds = intFlag('--rounds', flags.rounds, 40);
  if (typeof flags.worker === 'string') return runWorker(uri, Number(flags.worker), rounds, configPath);
  const processes = intFlag('--processes', flags.processes, 2);
  if (processes < 1 || processes > 16) throw new UsageError('--processes must be between 1 and 16');
  const started = Date.now();
  const workers = Array.from({ length: processes }, (_, i) => startWorker(uri, i + 1, rounds, configPath));
  const outputs = await Promise.all(workers);
  const records = outputs.reduce((sum, text) => sum + Number(/written=(\d+)/.exec(text)?.[1] ?? 0), 0);
  const backend = openBackend(uri);
  try {
    await backend.open();
    const table = await list(backend, { limit: '20' });
    const total = await backend.countTickets();
    return [
      `${plural(processes, 'shop process')} logged ${records === 1 ? '1 warning or error' : `${records} warnings and errors`} in ${Date.now() - started} ms.`,
      `${plural(total, 'ticket')} in ${backend.name}:`,
      '',
      table,
      '',
      `Next: ${invocation()} show 1, then solve 1, then run the demo again to see a regression.`,
      ...(configPath !== undefined && (loadConfig(configPath).config.trackers?.length ?? 0) > 0
        ? [`Deliveries to the trackers wait in the outbox: ${invocation()} sync --config ${configPath}`]
        : []),
    ].join('\n');
  } finally {
    await backend.close();
  }
}

async function runWorker(uri: string, worker: number, rounds: number, configPath?: string): Promise<string> {
  let handler: TicketingHandler;
  if (configPath === undefined) {
    handler = new TicketingHandler(uri, { appId: 'demo-shop' });
  } else {
    const { config } = loadConfig(configPath);
    const { target } = openConfigured(config, { storeUri: uri });
    handler = new TicketingHandler(target, {
      appId: 'demo-shop',
      ...handlerOptions(config),
      closeBackends: true,
    });
  }
  handler.pushApplication();
  const random = seeded(worker * 7919);
  for (let round = 0; round < rounds; round++) serveRound(round, random);
  const complete = await handler.close({ timeoutMs: 30_000 });
  handler.popApplication();
  const stats = handler.stats();
  if (!complete) throw new Error(`demo worker ${worker} could not write everything: ${JSON.stringify(stats.dropped)}`);
  return `written=${stats.written}`;
}

/** How the user can call the CLI again from where they are. */
function invocation(): string {
  const script = process.argv[1] ?? '';
  if (/node_modules[/\\]|[/\\]bin[/\\]logtickets$/.test(script)) return 'logtickets';
  const flags = process.execArgv.filter((a) => a === '--enable-source-maps').join(' ');
  return ['node', flags, relative(process.cwd(), script)].filter(Boolean).join(' ');
}

function startWorker(uri: string, worker: number, rounds: number, configPath?: string): Promise<string> {
  const script = process.argv[1]!;
  const args = [
    ...process.execArgv,
    script,
    'demo',
    '--worker',
    String(worker),
    '--rounds',
    String(rounds),
    '--db',
    uri,
    ...(configPath === undefined ? [] : ['--config', configPath]),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`demo worker ${worker} failed (exit ${code}): ${err.trim()}`)),
    );
  });
}
