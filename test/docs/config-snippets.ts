/**
 * JSON snippets are config files: each is read by the real loader
 * (loadConfig: JSON, `${NAME}` variables, `KEY_file` secrets, the schema,
 * duplicate trackers), then its store and trackers are built as a service
 * would build them (openConfigured, which connects nothing). A variable the
 * snippet names is given a stand-in value, and a `KEY_file` points at a
 * stand-in file, so that what is checked is the file's shape.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openConfigured } from '../../src/config/create-handler.js';
import { ConfigError, loadConfig } from '../../src/config/load-config.js';

export async function checkConfig(code: string, scratch: string): Promise<string[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(code);
  } catch (error) {
    return [`not JSON: ${(error as Error).message}`];
  }
  const env: NodeJS.ProcessEnv = {};
  for (const [, name] of code.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) env[name!] = `stand-in-${name}`;
  const dir = mkdtempSync(join(scratch, 'config-'));
  const secret = join(dir, 'secret');
  writeFileSync(secret, 'stand-in-secret\n');
  const withFiles = JSON.parse(JSON.stringify(parsed), (key, value: unknown) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(
          Object.entries(value).map(([k, v]) => [k, k.endsWith('_file') && typeof v === 'string' ? secret : v]),
        )
      : value,
  ) as unknown;
  try {
    const { config } = loadConfig(withFiles as object, { env, baseDir: dir });
    const { target } = openConfigured(config);
    await target.close();
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    return [(error as Error).message];
  }
}
