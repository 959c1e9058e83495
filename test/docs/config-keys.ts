/**
 * Every key a config file may hold, read from the config schema itself
 * (src/config/config-schema.ts), so that docs/configuration.md can be checked
 * to name them all: `handler.level`, `store.uri`, `trackers[].leaseMs`, …
 */

import { configSchemas } from '../../src/config/config-schema.js';

interface SchemaDef {
  readonly type: string;
  readonly shape?: Record<string, unknown>;
  readonly innerType?: unknown;
  readonly element?: unknown;
  readonly options?: readonly unknown[];
  readonly in?: unknown;
  readonly out?: unknown;
}

/** The keys of the config file as paths (`trackers[].app.appId`), in schema order. */
export function configKeys(): string[] {
  const found = new Set<string>();
  walk(configSchemas().configSchema, '', found);
  return [...found];
}

function walk(schema: unknown, path: string, found: Set<string>): void {
  const def = (schema as { _zod?: { def?: SchemaDef } } | undefined)?._zod?.def;
  if (def === undefined) return;
  switch (def.type) {
    case 'object':
      for (const [key, value] of Object.entries(def.shape ?? {})) {
        const here = path === '' ? key : `${path}.${key}`;
        found.add(here);
        walk(value, here, found);
      }
      return;
    case 'optional':
    case 'nullable':
    case 'default':
    case 'readonly':
      return walk(def.innerType, path, found);
    case 'array':
      return walk(def.element, `${path}[]`, found);
    case 'union':
      for (const option of def.options ?? []) walk(option, path, found);
      return;
    case 'pipe':
      walk(def.in, path, found);
      return walk(def.out, path, found);
  }
}

/**
 * The keys a page leaves out. A key of the top-level blocks (`handler.level`)
 * must be named whole in inline code; a key of a tracker or of a nested
 * object (`trackers[].leaseMs`, `handler.retry.initialMs`), and `$comment`,
 * by its own name.
 */
export function undocumentedKeys(page: string, keys: readonly string[]): string[] {
  const spans = [...page.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
  const words = new Set(spans.flatMap((span) => span.split(/[^A-Za-z0-9_$.]+/)).flatMap((w) => [w, ...w.split('.')]));
  return keys.filter((key) => {
    const whole = !key.includes('[]') && key.split('.').length <= 2 && !key.includes('$');
    return !words.has(whole ? key : key.split('.').at(-1)!.replace('[]', ''));
  });
}
