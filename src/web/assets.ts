/**
 * The page script and style sheet the build bundles (scripts/build-web.mjs)
 * into dist/web/assets/. Found from this module's own place: src/web/ and
 * dist/web/ both sit two levels below the package root.
 */

import { readFileSync } from 'node:fs';
import { LogticketsError } from '../errors.js';

export interface WebAssets {
  readonly script: string;
  readonly style: string;
}

let loaded: WebAssets | undefined;

export function webAssets(): WebAssets {
  if (loaded !== undefined) return loaded;
  const dir = new URL('../../dist/web/assets/', import.meta.url);
  try {
    loaded = {
      script: readFileSync(new URL('app.js', dir), 'utf8'),
      style: readFileSync(new URL('app.css', dir), 'utf8'),
    };
  } catch {
    throw new LogticketsError(
      'NOT_SUPPORTED',
      "the dashboard's page script is missing from dist/web/assets: run npm run build",
    );
  }
  return loaded;
}
