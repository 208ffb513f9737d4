/**
 * Bearer-token check for the HTTP API (SHIPLOG_API_TOKEN). Decided on the route the router
 * matched, never on the raw request target: `/%61pi/v1/logs`, `//api/v1/logs` or an
 * absolute-form target reach the same route and so need the same token. Deny by default:
 * only the probes and the scrape endpoint below are open; unknown paths need the token too,
 * so a 404 tells nothing to a caller without it.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { WEB_ROUTES } from './web-route.js';

/** Routes open without the token: liveness, readiness, Prometheus scrapes, the API's description, the web page's files (no data in them). */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json', ...WEB_ROUTES]);

/** The token from an Authorization header; the scheme is case-insensitive (RFC 9110). */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m ? m[1] : undefined;
}

/** Constant-time comparison over digests, so neither the length nor a prefix leaks. */
function sameToken(got: string, want: Buffer): boolean {
  const a = createHash('sha256').update(got).digest();
  const b = createHash('sha256').update(want).digest();
  return timingSafeEqual(a, b);
}

export function requireToken(app: FastifyInstance, token: string): void {
  const want = Buffer.from(token);
  app.addHook('onRequest', async (req, reply) => {
    const route = req.routeOptions.url;
    if (route !== undefined && PUBLIC_ROUTES.has(route)) return;
    const got = bearerToken(req.headers.authorization);
    if (got === undefined || !sameToken(got, want)) {
      await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'a valid bearer token (SHIPLOG_API_TOKEN) is required' });
    }
  });
}
