/**
 * The pino transport fails safe: with a bad option, a bad or missing config
 * file or a store it cannot open, the service keeps running and exits 0,
 * pino's other target gets every line, and stderr has exactly one
 * `logtickets:` line naming the problem, with no secret from the config.
 * Each case runs as its own service, in pino's worker thread and (for some)
 * in the same thread.
 */

import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkOutput,
  configShapes,
  failureCode,
  fileLines,
  serve,
  summary,
  withConfig,
  type Shape,
} from './fail-safe-cases.js';

const built = existsSync(new URL('../../dist/integrations/pino.js', import.meta.url));
const notBuilt = 'dist/ is not built: run `npm run build` first (npm test does)';

const pinoShapes: readonly Shape[] = [
  {
    title: 'options that are not an object',
    sameThread: true,
    options: () => 'warn',
    line: /^logtickets\/pino options must be an object$/,
  },
  {
    title: 'a misspelt option',
    sameThread: true,
    options: (_d, config) => ({ confg: config }),
    line: /^logtickets\/pino options\.confg is not an option \(known: config, handler,/,
  },
  {
    title: 'an unknown level',
    sameThread: true,
    options: withConfig({ level: 'loud' }),
    line: /^logtickets\/pino options\.level: unknown level "loud"$/,
  },
  {
    title: 'a level of the wrong kind',
    options: withConfig({ level: { min: 40 } }),
    line: /^logtickets\/pino options\.level: unknown level \{"min":40\}$/,
  },
  {
    title: 'a negative closeTimeoutMs',
    options: withConfig({ closeTimeoutMs: -5 }),
    line: /^logtickets\/pino options\.closeTimeoutMs must be an integer ≥ 0$/,
  },
  {
    title: 'a closeTimeoutMs as text',
    options: withConfig({ closeTimeoutMs: '5s' }),
    line: /options\.closeTimeoutMs must be an integer ≥ 0$/,
  },
  {
    title: 'a channel that is a number',
    options: withConfig({ channel: 42 }),
    line: /^logtickets\/pino options\.channel must be a string$/,
  },
  {
    title: 'an empty channel',
    options: withConfig({ channel: '' }),
    line: /^logtickets\/pino options\.channel must not be empty$/,
  },
  {
    title: 'an empty messageKey',
    options: withConfig({ messageKey: '' }),
    line: /^logtickets\/pino options\.messageKey must not be empty$/,
  },
  {
    title: 'a custom level that is not a number',
    sameThread: true,
    options: withConfig({ customLevels: { audit: 'high' } }),
    line: /^logtickets\/pino options\.customLevels\.audit must be a level number$/,
  },
  {
    title: 'customLevels as a list',
    options: withConfig({ customLevels: [35] }),
    line: /^logtickets\/pino options\.customLevels must be an object$/,
  },
  {
    title: 'a config that is a number',
    options: () => ({ config: 42 }),
    line: /^logtickets\/pino options\.config must be a config file path or a config object$/,
  },
  {
    title: 'a handler next to a config',
    options: withConfig({ handler: {} }),
    line: /^logtickets\/pino options: give either config or handler, not both$/,
  },
];

for (const shape of [...configShapes, ...pinoShapes]) {
  test(`pino worker thread, ${shape.title}: the service runs on, its file target gets every line`, async (t) => {
    if (!built) return t.fail(notBuilt);
    const { dir, result } = await serve(t, shape, 'pino-failing-service.ts', (options, d) => [
      'worker',
      options,
      join(d, 'service.log'),
    ]);
    checkOutput(t, result, shape, 'logtickets/pino');
    t.regex(result.stdout, /^still running$/m);
    t.is(fileLines(join(dir, 'service.log')).length, 8);
  });

  if (shape.sameThread !== true) continue;
  test(`pino in the same thread, ${shape.title}: the service runs on, its other stream gets every line`, async (t) => {
    const { dir, result } = await serve(t, shape, 'pino-failing-service.ts', (options, d) => [
      'same-thread',
      options,
      join(d, 'service.log'),
    ]);
    checkOutput(t, result, shape, 'logtickets/pino');
    t.regex(result.stdout, /^still running$/m);
    t.is(fileLines(join(dir, 'service.log')).length, 8);
    // Off, the transport drops and counts the 4 lines at warn and above; started, it drops none itself.
    t.deepEqual(summary(result.stdout), { failure: failureCode(shape), dropped: shape.started === true ? 0 : 4 });
  });
}
