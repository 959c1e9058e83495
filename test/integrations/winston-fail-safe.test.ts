/**
 * The winston transport fails safe: with a bad option, a bad or missing
 * config file or a store it cannot open, the constructor does not throw,
 * the service keeps running and exits 0, the console transport gets every
 * line, and stderr has exactly one `logtickets:` line naming the problem,
 * with no secret from the config. Each case runs as its own service.
 */

import test from 'ava';
import { checkOutput, configShapes, failureCode, serve, summary, withConfig, type Shape } from './fail-safe-cases.js';

const winstonShapes: readonly Shape[] = [
  {
    title: 'a misspelt option',
    options: withConfig({ lvel: 'warn' }),
    line: /^LogticketsTransport options\.lvel is not an option \(known: config, handler,/,
  },
  {
    title: 'a levelMap naming an unknown level',
    options: withConfig({ levelMap: { audit: 'LOUD' } }),
    line: /^LogticketsTransport options\.levelMap\.audit: unknown level "LOUD"$/,
  },
  {
    title: 'a levelMap that is text',
    options: withConfig({ levelMap: 'audit=NOTICE' }),
    line: /^LogticketsTransport options\.levelMap must be an object$/,
  },
  {
    title: 'a fractional closeTimeoutMs',
    options: withConfig({ closeTimeoutMs: 1.5 }),
    line: /^LogticketsTransport options\.closeTimeoutMs must be an integer ≥ 0$/,
  },
  {
    title: 'a format that is text',
    options: withConfig({ format: 'json' }),
    line: /^LogticketsTransport options\.format must be an object$/,
  },
  {
    title: 'a format that is no winston format',
    options: withConfig({ format: { json: true } }),
    line: /^LogticketsTransport options\.format must be a winston format/,
  },
  {
    // winston compares records with a level it does not know as below it: none reach the transport.
    winstonDrops: 0,
    title: 'a level the logger does not have',
    options: withConfig({ level: 'loud' }),
    line: /^LogticketsTransport options\.level: "loud" is not a level of the logger \(its levels: error, warn, info,/,
  },
  {
    title: 'silent as text',
    options: withConfig({ silent: 'no' }),
    line: /^LogticketsTransport options\.silent must be a boolean$/,
  },
  {
    title: 'a highWaterMark of 0',
    options: withConfig({ highWaterMark: 0 }),
    line: /^LogticketsTransport options\.highWaterMark must be an integer ≥ 1$/,
  },
  {
    title: 'an empty channel',
    options: withConfig({ channel: '' }),
    line: /^LogticketsTransport options\.channel must not be empty$/,
  },
  {
    title: 'a fingerprintKey that is a number',
    options: withConfig({ fingerprintKey: 7 }),
    line: /^LogticketsTransport options\.fingerprintKey must be a string$/,
  },
  {
    title: 'a handler that is not one',
    options: () => ({ handler: { handle: true } }),
    line: /^LogticketsTransport options\.handler must be a logtickets Handler$/,
  },
  {
    title: 'a handler next to a config',
    options: withConfig({ handler: {} }),
    line: /^LogticketsTransport options: give either config or handler, not both$/,
  },
  {
    title: 'a config that is a number',
    options: () => ({ config: 42 }),
    line: /^LogticketsTransport options\.config must be a config file path or a config object$/,
  },
  {
    title: 'options that are not an object',
    options: () => ['config.json'],
    line: /^LogticketsTransport options must be an object$/,
  },
];

for (const shape of [...configShapes, ...winstonShapes]) {
  test(`winston, ${shape.title}: the service runs on, its console transport gets every line`, async (t) => {
    const { result } = await serve(t, shape, 'winston-failing-service.ts', (options) => [options]);
    checkOutput(t, result, shape, 'LogticketsTransport');
    const logged = result.stdout.split('\n').filter((line) => line.startsWith('{"'));
    t.is(logged.filter((line) => /"message":/.test(line)).length, 8, result.stdout);
    // Off, it drops all 8 records it is given; started, its store failing, it drops none itself but loses them.
    const dropped = shape.started === true ? 0 : (shape.winstonDrops ?? 8);
    t.deepEqual(summary(result.stdout), {
      failure: failureCode(shape),
      dropped,
      nothingLost: shape.started !== true && dropped === 0,
    });
  });
}
