// Bundles the dashboard's page script (src/web/client/) with its chart
// library and styles into dist/web/assets/: two files the server sends and
// the static report inlines. Nothing is loaded from the network at run time.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
await build({
  absWorkingDir: root,
  entryPoints: { app: 'src/web/client/main.ts' },
  outdir: 'dist/web/assets',
  bundle: true,
  format: 'iife',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  minify: true,
  legalComments: 'eof',
  logLevel: 'warning',
});
