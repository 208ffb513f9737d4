/**
 * GET /api/v1/logs: stored lines by container (exact or glob), host, compose service,
 * stream, level, text (`q`, or a regular expression with regex=true) and time range, newest
 * first. Every value reaches the database as a query parameter, never as SQL text.
 */
import type { FastifyInstance } from 'fastify';
import { parseDurationMs } from '../../lib/env-config.js';
import { LOGS_TABLE, quoteIdent } from '../store/schema.js';
import type { LogStore, QueryParams } from '../store/store.js';
import { registerTailRoute } from './tail-route.js';

export const MAX_LIMIT = 10_000;
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

export const logsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    container: { type: 'string', maxLength: 256, description: 'Container name, exact or a glob with * and ?' },
    host: { type: 'string', maxLength: 256 },
    service: { type: 'string', maxLength: 256, description: 'Compose/swarm service (or the container name when it has none)' },
    stream: { type: 'string', enum: ['stdout', 'stderr'] },
    level: { type: 'string', enum: [...LEVELS] },
    q: { type: 'string', maxLength: 1024, description: 'Text the line contains (case-sensitive)' },
    regex: { type: 'boolean', default: false, description: 'Treat q as an RE2 regular expression' },
    since: { type: 'string', maxLength: 64, description: 'RFC 3339 time or a duration before now (15m, 2h, 7d)' },
    until: { type: 'string', maxLength: 64, description: 'RFC 3339 time or a duration before now' },
    limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 100 },
  },
} as const;

export interface LogsQuery {
  container?: string;
  host?: string;
  service?: string;
  stream?: 'stdout' | 'stderr';
  level?: (typeof LEVELS)[number];
  q?: string;
  regex?: boolean;
  since?: string;
  until?: string;
  limit?: number;
}

export class BadParameter extends Error {
  constructor(readonly parameter: string, message: string) {
    super(`${parameter}: ${message}`);
  }
}

/** RFC 3339 or a duration before `now`, to epoch nanoseconds (as a decimal string). */
export function timeParam(name: string, v: string, now: number): string {
  const d = parseDurationMs(v);
  if (d !== undefined) return (BigInt(now - d) * 1_000_000n).toString();
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(v);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
  if (!m || Number.isNaN(ms)) throw new BadParameter(name, `"${v}" is neither an RFC 3339 time (2026-11-23T16:00:00Z) nor a duration (15m)`);
  return (BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0') || '0')).toString();
}

function globToRe2(glob: string): string {
  let re = '^';
  for (const ch of glob) re += ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  return `${re}$`;
}

/** The WHERE clause and its parameters for a query. */
export function buildLogsQuery(db: string, q: LogsQuery, now = Date.now()): { sql: string; params: QueryParams } {
  const where: string[] = [];
  const params: QueryParams = {};
  if (q.container) {
    if (/[*?]/.test(q.container)) {
      where.push('match(ContainerName, {container_re:String})');
      params.container_re = globToRe2(q.container);
    } else {
      where.push('ContainerName = {container:String}');
      params.container = q.container;
    }
  }
  if (q.host) {
    where.push('HostName = {host:String}');
    params.host = q.host;
  }
  if (q.service) {
    where.push('ServiceName = {service:String}');
    params.service = q.service;
  }
  if (q.stream) {
    where.push('Stream = {stream:String}');
    params.stream = q.stream;
  }
  if (q.level) {
    where.push('SeverityText = {level:String}');
    params.level = q.level.toUpperCase();
  }
  if (q.q) {
    if (q.regex) {
      where.push('match(Body, {q:String})');
      params.q = q.q;
    } else {
      // LIKE with the pattern's own wildcards escaped: the token index can still prune.
      where.push('Body LIKE {q:String}');
      params.q = `%${q.q.replace(/[\\%_]/g, '\\$&')}%`;
    }
  }
  if (q.since) {
    const ns = timeParam('since', q.since, now);
    where.push('Timestamp >= fromUnixTimestamp64Nano({since:Int64}) AND TimestampTime >= toDateTime(intDiv({since:Int64}, 1000000000))');
    params.since = ns;
  }
  if (q.until) {
    const ns = timeParam('until', q.until, now);
    where.push('Timestamp < fromUnixTimestamp64Nano({until:Int64}) AND TimestampTime <= toDateTime(intDiv({until:Int64}, 1000000000))');
    params.until = ns;
  }
  params.limit = q.limit ?? 100;
  const sql = `SELECT
      concat(formatDateTime(Timestamp, '%Y-%m-%dT%H:%i:%S', 'UTC'), '.', leftPad(toString(toUnixTimestamp64Nano(Timestamp) % 1000000000), 9, '0'), 'Z') AS timestamp,
      HostName AS host, ContainerId AS container_id, ContainerName AS container_name, ResourceAttributes['container.image.name'] AS image,
      ServiceName AS service, Stream AS stream, lower(SeverityText) AS level, hex(Body) AS body_hex, LogAttributes AS attributes
    FROM ${db}.${LOGS_TABLE}
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY Timestamp DESC
    LIMIT {limit:UInt32}
    SETTINGS max_execution_time = 10`;
  return { sql, params };
}

export interface LogRow {
  timestamp: string;
  host: string;
  container_id: string;
  container_name: string;
  image: string;
  service: string;
  stream: string;
  level: string;
  body_hex: string;
  attributes: Record<string, string>;
}

export function registerLogsRoute(app: FastifyInstance, store: LogStore): void {
  const db = quoteIdent(store.database);
  app.get('/api/v1/logs', { schema: { querystring: logsQuerySchema } }, async (req, reply) => {
    let built;
    try {
      built = buildLogsQuery(db, req.query as LogsQuery);
    } catch (err) {
      if (err instanceof BadParameter) return reply.code(400).send({ error: 'bad_parameter', parameter: err.parameter, message: err.message });
      throw err;
    }
    const rows = await store.query<LogRow>(built.sql, built.params);
    return { data: rows.map(toLine) };
  });
  registerTailRoute(app, store, db);
}

/** A stored row as the API returns it. */
export function toLine(r: LogRow) {
  return {
    timestamp: r.timestamp,
    host: r.host,
    container_id: r.container_id,
    container_name: r.container_name,
    image: r.image,
    service: r.service,
    stream: r.stream,
    level: r.level,
    message: Buffer.from(r.body_hex, 'hex').toString('utf8'),
    attributes: r.attributes,
  };
}

/** The OpenAPI document for what the API serves now, made from the same schema. */
export function openApi(): object {
  return {
    openapi: '3.1.0',
    info: { title: 'shiplog', version: '0.1.0' },
    paths: {
      '/api/v1/logs': {
        get: {
          summary: 'Stored log lines, newest first',
          parameters: Object.entries(logsQuerySchema.properties).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
          responses: { '200': { description: '{ "data": [ { timestamp, host, container_id, container_name, image, service, stream, level, message, attributes } ] }' }, '400': { description: 'A bad parameter, named in the answer' } },
        },
      },
      '/api/v1/logs/tail': {
        get: {
          summary: 'Live tail as Server-Sent Events: the newest `backlog` lines, then new lines as they are stored',
          parameters: [...Object.entries(logsQuerySchema.properties).filter(([n]) => n !== 'limit'), ['backlog', { type: 'integer', minimum: 0, maximum: 10000, default: 10 }] as const].map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
          responses: { '200': { description: 'text/event-stream; each event is one line as in /api/v1/logs' }, '400': { description: 'A bad parameter' } },
        },
      },
    },
  };
}
