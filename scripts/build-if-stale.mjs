// `npm start` builds only when a TypeScript source is newer than the build (tsc takes ~20 s
// on two cores; a start should not pay it every time).
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const built = join(root, 'dist', 'cli', 'shiplog.js');
const builtAt = (() => {
  try {
    return statSync(built).mtimeMs;
  } catch {
    return -1;
  }
})();

function newer(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() ? newer(p) : /\.(ts|tsx|css|html|json)$/.test(e.name) && statSync(p).mtimeMs > builtAt) return true;
  }
  return false;
}

const sources = ['agent', 'collector', 'cli', 'lib', 'bench', 'up', 'dashboards', 'web'].map((d) => join(root, d));
if (builtAt < 0 || statSync(join(root, 'tsconfig.json')).mtimeMs > builtAt || sources.some(newer)) {
  console.error('shiplog: building (TypeScript sources changed since the last build)');
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
  execFileSync(process.execPath, [join(root, 'scripts', 'build-web.mjs')], { stdio: 'inherit' });
}
