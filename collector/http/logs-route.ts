/**
 * The query API under /api/v1: stored lines (cursor-paged), their live tail, a volume
 * histogram and the known containers. Parameters are validated by the JSON schemas below
 * (fastify/ajv) and reach the database only as bound parameters.
 */
import type { FastifyInstance } from 'fastify';
import { containerEvents, containerEventsQuerySchema, containerIdParams, containerStats, containerStatsQuerySchema } from '../query/container-detail.js';
import { listContainers, containersQuerySchema, type ContainersRequest } from '../query/containers.js';
import { histogram, histogramQuerySchema, type HistogramRequest } from '../query/histogram.js';
import { buildPageQuery, readPage, toLine, type PageRequest } from '../query/logs-page.js';
import { LOGS_TABLE, quoteIdent } from '../store/schema.js';
import type { LogStore } from '../store/store.js';
import type { ApiLimits } from './api-limits.js';
import { answering } from './answering.js';
import { registerDeadLettersRoute } from './dead-letters-route.js';
import { logsQuerySchema } from './logs-schemas.js';
import type { TailHub } from './tail-hub.js';
import { registerTailRoute } from './tail-route.js';

export function registerLogsRoute(app: FastifyInstance, store: LogStore, limits: ApiLimits, hub: TailHub): void {
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
  app.get('/api/v1/containers/:id/stats', { schema: { params: containerIdParams, querystring: containerStatsQuerySchema } }, async (req, reply) =>
    answering(reply, limits, () => containerStats(store, db, (req.params as { id: string }).id, req.query as { since?: string; until?: string; step?: string }, limits.queryTimeoutMs)),
  );
  app.get('/api/v1/containers/:id/events', { schema: { params: containerIdParams, querystring: containerEventsQuerySchema } }, async (req, reply) =>
    answering(reply, limits, async () => ({ data: await containerEvents(store, db, (req.params as { id: string }).id, req.query as { since?: string; until?: string; limit?: number }, limits.queryTimeoutMs) })),
  );
  registerTailRoute(app, store, db, limits, hub);
  registerDeadLettersRoute(app, store, db, limits);
}
