/**
 * The collector's HTTP app: built from its dependencies, listened on only by main.
 * /metrics (Prometheus), /healthz (alive), /readyz (consuming and storage reachable).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { PageLimits } from '../query/logs-page.js';
import type { LogStore } from '../store/store.js';
import { requireToken } from './auth.js';
import { DEFAULT_LIMITS, openApi, registerLogsRoute } from './logs-route.js';

export interface CollectorStatus {
  consuming: boolean;
  storage: 'up' | 'down';
  storageKind: string;
}

export interface AppDeps {
  registry: Registry;
  status: () => CollectorStatus;
  /** Serves /api/v1 when given. */
  store?: LogStore;
  /** Bearer token required on /api/* when set (SHIPLOG_API_TOKEN). */
  apiToken?: string;
  /** Page size and query time limits of /api/v1 (SHIPLOG_API_MAX_RESULT_BYTES, SHIPLOG_API_QUERY_TIMEOUT). */
  limits?: PageLimits;
}

export function build(deps: AppDeps): FastifyInstance {
  const app = Fastify({ logger: false, ajv: { customOptions: { coerceTypes: true, removeAdditional: false } } });
  if (deps.apiToken) requireToken(app, deps.apiToken);
  app.setErrorHandler((err: { validation?: { instancePath?: string; message?: string; params?: Record<string, unknown> }[]; message: string; statusCode?: number }, _req, reply) => {
    if (err.validation) {
      // Name the parameter: "limit: must be <= 10000", "bogus: unknown parameter".
      const problems = err.validation.map((v) => {
        const extra = v.params?.additionalProperty;
        if (typeof extra === 'string') return `${extra}: unknown parameter`;
        const allowed = Array.isArray(v.params?.allowedValues) ? ` (${(v.params.allowedValues as string[]).join(', ')})` : '';
        return `${(v.instancePath ?? '').replace(/^\//, '') || 'query'}: ${v.message ?? 'invalid'}${allowed}`;
      });
      return reply.code(400).send({ error: 'bad_parameter', message: problems.join('; ') });
    }
    return reply.code(err.statusCode && err.statusCode < 500 ? err.statusCode : 500).send({ error: 'internal', message: err.message });
  });
  app.get('/openapi.json', async () => openApi());
  if (deps.store) registerLogsRoute(app, deps.store, deps.limits ?? DEFAULT_LIMITS);
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.registry.contentType);
    return deps.registry.metrics();
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const s = deps.status();
    const ready = s.consuming && s.storage === 'up';
    reply.code(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not-ready', ...s };
  });
  return app;
}
