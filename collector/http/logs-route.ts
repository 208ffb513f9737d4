/**
 * The query API under /api/v1: stored lines (cursor-paged), their live tail, a volume
 * histogram and the known containers. Parameters are validated by the JSON schemas below
 * (fastify/ajv) and reach the database only as bound parameters.
 */
import type { FastifyInstance } from 'fastify';
import { listContainers, containersQuerySchema, type ContainersRequest } from '../query/containers.js';
import { filterProperties } from '../query/filters.js';
import { histogram, histogramQuerySchema, type HistogramRequest } from '../query/histogram.js';
import { buildPageQuery, readPage, toLine, type PageLimits, type PageRequest } from '../query/logs-page.js';
import { LOGS_TABLE, quoteIdent } from '../store/schema.js';
import type { LogStore } from '../store/store.js';
import { answering } from './answering.js';
import { registerDeadLettersRoute } from './dead-letters-route.js';
import { registerTailRoute } from './tail-route.js';

export const MAX_LIMIT = 10_000;

export const logsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...filterProperties,
    limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 100 },
    order: { type: 'string', enum: ['newest', 'oldest'], default: 'newest', description: 'newest (default) or oldest first' },
    cursor: { type: 'string', maxLength: 1024, description: 'next_cursor of the previous page: the lines after it, in the same order' },
  },
} as const;

export const DEFAULT_LIMITS: PageLimits = { maxResultBytes: 16 * 1024 ** 2, queryTimeoutMs: 10_000 };

export function registerLogsRoute(app: FastifyInstance, store: LogStore, limits: PageLimits = DEFAULT_LIMITS): void {
  const db = quoteIdent(store.database);
  app.get('/api/v1/logs', { schema: { querystring: logsQuerySchema } }, async (req, reply) =>
    answering(reply, limits, async () => {
      const page = await readPage(store, buildPageQuery(db, LOGS_TABLE, req.query as PageRequest, limits));
      return { data: page.rows.map(toLine), next_cursor: page.next ?? null };
    }),
  );
  app.get('/api/v1/logs/histogram', { schema: { querystring: histogramQuerySchema } }, async (req, reply) =>
    answering(reply, limits, () => histogram(store, db, LOGS_TABLE, req.query as HistogramRequest, limits.queryTimeoutMs)),
  );
  app.get('/api/v1/containers', { schema: { querystring: containersQuerySchema } }, async (req, reply) =>
    answering(reply, limits, async () => ({ data: await listContainers(store, db, req.query as ContainersRequest, limits.queryTimeoutMs) })),
  );
  registerTailRoute(app, store, db, limits);
  registerDeadLettersRoute(app, store, db, limits);
}

const params = (props: object, skip: string[] = []) =>
  Object.entries(props)
    .filter(([n]) => !skip.includes(n))
    .map(([name, schema]) => ({ name, in: 'query', required: false, schema }));

const BAD = { '400': { description: 'A bad parameter, named in the answer: { error: "bad_parameter", parameter, message }' } };
const TIMEOUT = { '503': { description: 'The query ran longer than SHIPLOG_API_QUERY_TIMEOUT: { error: "query_timeout", message }' } };

/** The OpenAPI document, made from the same schemas the routes validate with. */
export function openApi(): object {
  return {
    openapi: '3.1.0',
    info: { title: 'shiplog', version: '0.1.0' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Only when SHIPLOG_API_TOKEN is set' } } },
    paths: {
      '/api/v1/logs': {
        get: {
          summary: 'Stored log lines, newest (or oldest) first, a page at a time',
          description:
            'A page holds at most `limit` lines and at most SHIPLOG_API_MAX_RESULT_BYTES of line text (at least one line). ' +
            '`next_cursor` is set while more lines match: pass it as `cursor` with the same filters for the next page. ' +
            'Lines with equal timestamps keep a fixed order, so paging neither skips nor repeats one.',
          parameters: params(logsQuerySchema.properties),
          responses: {
            '200': { description: '{ "data": [ { timestamp, host, container_id, container_name, image, service, stream, level, message, attributes } ], "next_cursor": string | null }' },
            ...BAD,
            ...TIMEOUT,
          },
        },
      },
      '/api/v1/logs/tail': {
        get: {
          summary: 'Live tail as Server-Sent Events: the newest `backlog` lines, then new lines as they are stored',
          parameters: [...params(logsQuerySchema.properties, ['limit', 'order', 'cursor']), { name: 'backlog', in: 'query', required: false, schema: { type: 'integer', minimum: 0, maximum: MAX_LIMIT, default: 10 } }],
          responses: { '200': { description: 'text/event-stream; each `data:` event is one line as in /api/v1/logs' }, ...BAD },
        },
      },
      '/api/v1/logs/histogram': {
        get: {
          summary: 'Lines per interval and level, with the filters of /api/v1/logs (since defaults to 1h)',
          parameters: params(histogramQuerySchema.properties),
          responses: { '200': { description: '{ interval_seconds, from, to, buckets: [ { time, total, levels: { error: n, … } } ] }' }, ...BAD, ...TIMEOUT },
        },
      },
      '/api/v1/containers': {
        get: {
          summary: 'Containers seen in the window (default 24h): host, image, state, last seen, log volume',
          parameters: params(containersQuerySchema.properties),
          responses: {
            '200': { description: '{ data: [ { host, id, name, image, service, state, exit_code?, health?, last_seen, last_log?, log_lines, log_bytes } ] }' },
            ...BAD,
            ...TIMEOUT,
          },
        },
      },
    },
    security: [{ bearer: [] }],
  };
}
