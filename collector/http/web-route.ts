/**
 * The web page (web/, built into dist/web by `npm run build`): served at / with its two assets,
 * from memory, on the API's port. The files carry no data, so they are open like /openapi.json;
 * the page asks for the token when the API answers 401. Strict headers: the page may load
 * nothing from elsewhere and may not be framed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { packageRoot } from '../../lib/package-root.js';

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/assets/app.js': { file: 'assets/app.js', type: 'text/javascript; charset=utf-8' },
  '/assets/app.css': { file: 'assets/app.css', type: 'text/css; charset=utf-8' },
};

export const WEB_ROUTES: ReadonlySet<string> = new Set(Object.keys(FILES));

const HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // Inline style attributes only (ANSI colours, chart sizes); no inline script, nothing from elsewhere.
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'cache-control': 'no-cache',
};

export function registerWebRoutes(app: FastifyInstance, dir = join(packageRoot(), 'dist', 'web')): void {
  const cache = new Map<string, { body: Buffer; etag: string }>();
  const load = (file: string) => {
    let c = cache.get(file);
    if (!c) {
      const body = readFileSync(join(dir, file));
      c = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
      cache.set(file, c);
    }
    return c;
  };
  for (const [url, { file, type }] of Object.entries(FILES)) {
    app.get(url, async (req: FastifyRequest, reply: FastifyReply) => {
      if (!existsSync(join(dir, file))) {
        return reply.code(404).send({ error: 'not_found', message: 'the web page is not built: run npm run build' });
      }
      const { body, etag } = load(file);
      void reply.headers({ ...HEADERS, etag, 'content-type': type });
      if (req.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.send(body);
    });
  }
}
