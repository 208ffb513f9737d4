/** The package's root folder (where package.json and schema/ are), from source or from dist/. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'schema', 'log-record.schema.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the shiplog package root (schema/log-record.schema.json)');
    dir = up;
  }
  root = dir;
  return dir;
}
