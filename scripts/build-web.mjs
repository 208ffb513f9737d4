// Builds the web page (web/) into dist/web: one minified script and one stylesheet, bundled
// with esbuild from web/src (Preact and uPlot included; nothing is fetched by the browser from
// elsewhere), and index.html. Prints what the browser downloads, raw and gzipped.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = join(import.meta.dirname, '..');
const out = join(root, 'dist', 'web');
mkdirSync(join(out, 'assets'), { recursive: true });
await build({
  entryPoints: { app: join(root, 'web', 'src', 'main.tsx') },
  outdir: join(out, 'assets'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync(join(root, 'web', 'index.html'), join(out, 'index.html'));
if (process.argv.includes('--sizes')) {
  for (const f of readdirSync(join(out, 'assets'))) {
    const b = readFileSync(join(out, 'assets', f));
    console.log(`dist/web/assets/${f}: ${b.length} bytes, ${gzipSync(b, { level: 9 }).length} gzipped`);
  }
}
