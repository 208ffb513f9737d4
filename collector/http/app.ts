/**
 * The collector's HTTP app (and `shiplog up`'s): built from its dependencies, listened on
 * only by main. /metrics (Prometheus), /healthz (alive), /readyz (consuming and storage
 * reachable), /api/v1 (queries, the live tail) when given a store.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../lib/logger.js';
import type { LogStore } from '../store/store.js';
import { requireToken } from './auth.js';
import { answerClientError, MAX_HEADER_BYTES } from './client-errors.js';
import { DEFAULT_LIMITS, type ApiLimits } from './api-limits.js';
import { registerLogsRoute } from './logs-route.js';
import { registerWebRoutes } from './web-route.js';
import { openApi } from './openapi.js';
import { PATTERN_HINTS } from '../query/filters.js';
import { limitedStore, QueryLimiter } from './query-limiter.js';
import { TailHub } from './tail-hub.js';

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
  /** Bearer token required on everything but the probes and /metrics when set (SHIPLOG_API_TOKEN). */
  apiToken?: string;
  limits?: Partial<ApiLimits>;
  /** Where a failed request's details go (the answer carries only an id). */
  log?: Logger;
}

/** A whole number as people write it: no sign, exponent, hex, Infinity or leading zeros. */
const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;

/**
 * Before the schema's type coercion: integer parameters must be plain decimal text
 * (`limit=1e309` or `Infinity` would otherwise become numbers no check expects), and no
 * parameter may be given twice.
 */
async function strictQuery(req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const props = (req.routeOptions.schema?.querystring as { properties?: Record<string, { type?: string }> } | undefined)?.properties;
  if (!props) return;
  for (const [name, v] of Object.entries(req.query as Record<string, unknown>)) {
    if (Array.isArray(v)) {
      await reply.code(400).send({ error: 'bad_parameter', parameter: name, message: `${name}: given more than once` });
      return;
    }
    if (props[name]?.type === 'integer' && typeof v === 'string' && !DECIMAL.test(v)) {
      await reply.code(400).send({ error: 'bad_parameter', parameter: name, message: `${name}: "${v.slice(0, 40)}" is not a whole number` });
      return;
    }
  }
}

export function build(deps: AppDeps): FastifyInstance {
  const limits: ApiLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const app = Fastify({
    logger: false,
    // A request (not its answer: the tail streams) must arrive whole within this.
    requestTimeout: 30_000,
    http: { maxHeaderSize: MAX_HEADER_BYTES },
    clientErrorHandler: answerClientError,
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false } },
  });
  if (deps.apiToken) requireToken(app, deps.apiToken);
  app.addHook('preValidation', strictQuery);
  app.setErrorHandler((err: { validation?: { instancePath?: string; message?: string; params?: Record<string, unknown> }[]; message: string; statusCode?: number; code?: string }, req, reply) => {
    if (err.validation) {
      // Name the parameter: "limit: must be <= 10000", "bogus: unknown parameter".
      const problems = err.validation.map((v) => {
        const extra = v.params?.additionalProperty;
        if (typeof extra === 'string') return `${extra}: unknown parameter`;
        const name = (v.instancePath ?? '').replace(/^\//, '');
        if (typeof v.params?.pattern === 'string' && PATTERN_HINTS[name]) return `${name}: is not ${PATTERN_HINTS[name]}`;
        const allowed = Array.isArray(v.params?.allowedValues) ? ` (${(v.params.allowedValues as string[]).join(', ')})` : '';
        return `${(v.instancePath ?? '').replace(/^\//, '') || 'query'}: ${v.message ?? 'invalid'}${allowed}`;
      });
      const parameter = err.validation[0]?.params?.additionalProperty ?? (err.validation[0]?.instancePath ?? '').replace(/^\//, '');
      return reply.code(400).send({ error: 'bad_parameter', parameter: parameter || undefined, message: problems.join('; ') });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return reply.code(err.statusCode).send({ error: 'bad_request', message: err.message });
    // Engine internals stay in our log; the caller gets an id to find them by.
    const id = randomUUID();
    deps.log?.error({ err: { message: err.message, code: err.code }, id, method: req.method, url: req.url }, 'request failed');
    return reply.code(500).send({ error: 'internal', id, message: `the request failed; the server log has the details under id ${id}` });
  });
  const doc = openApi(!!deps.apiToken);
  app.get('/openapi.json', async () => doc);
  if (deps.store) registerWebRoutes(app);
  // Every route is GET (and HEAD). Another method on a known path is a 405 with the methods it
  // takes, decided before any body is read.
  app.addHook('onRequest', async (req, reply) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.routeOptions.url !== undefined) return;
    const path = req.url.split('?')[0] ?? '';
    if (app.findRoute({ url: path, method: 'GET' })) {
      await reply.code(405).header('allow', 'GET, HEAD').send({ error: 'method_not_allowed', message: `${req.method} is not served here; use GET` });
    }
  });
  app.setNotFoundHandler(async (req, reply) => reply.code(404).send({ error: 'not_found', message: `no such path: ${(req.url.split('?')[0] ?? '').slice(0, 200)}` }));
  if (deps.store) {
    const r = [deps.registry];
    const refused = new Counter({ name: 'shiplog_api_requests_refused_total', help: 'Requests answered 429 because the API was at a limit, by setting.', labelNames: ['setting'], registers: r });
    for (const setting of ['SHIPLOG_API_MAX_QUERIES', 'SHIPLOG_API_MAX_TAIL_CLIENTS']) refused.inc({ setting }, 0);
    const limiter = new QueryLimiter(limits.maxQueries, undefined, undefined, () => refused.inc({ setting: 'SHIPLOG_API_MAX_QUERIES' }));
    const ended = new Counter({ name: 'shiplog_api_tail_streams_ended_total', help: 'Live tail streams ended, by reason (closed by the client, slow_reader, shutdown).', labelNames: ['reason'], registers: r });
    for (const reason of ['closed', 'slow_reader', 'shutdown']) ended.inc({ reason }, 0);
    const hub = new TailHub(limitedStore(deps.store, limiter, 'forever'), deps.store.database, limits, {
      maxClients: limits.maxTailClients,
      maxBufferedBytes: limits.tailBufferBytes,
      onEnd: (reason) => ended.inc({ reason }),
      onPollError: (err) => deps.log?.warn({ err: err instanceof Error ? err.message : String(err) }, 'live tail: reading the store failed; retrying'),
      onRefused: () => refused.inc({ setting: 'SHIPLOG_API_MAX_TAIL_CLIENTS' }),
    });
    new Gauge({ name: 'shiplog_api_tail_streams', help: 'Live tail streams open now.', registers: r, collect() { this.set(hub.size); } });
    new Gauge({ name: 'shiplog_api_queries_running', help: 'Store queries the API runs now (at most SHIPLOG_API_MAX_QUERIES).', registers: r, collect() { this.set(limiter.running); } });
    // Before the server waits for its connections: the tail streams end, so a stop is not held up by them.
    app.addHook('preClose', async () => hub.close());
    registerLogsRoute(app, limitedStore(deps.store, limiter), limits, hub);
  }
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
