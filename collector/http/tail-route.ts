/**
 * GET /api/v1/logs/tail: Server-Sent Events with the filters of /api/v1/logs. First the
 * newest `backlog` lines (oldest first), then every new stored line (tail-hub.ts). Events:
 * `message` (a line, as in /api/v1/logs), `error` (reading failed; the server retries), `end`
 * (the server closed the stream: `slow_reader` or `shutdown`). A comment every 15 s keeps
 * proxies from closing the stream. Past SHIPLOG_API_MAX_TAIL_CLIENTS streams: 429.
 */
import type { FastifyInstance } from 'fastify';
import { buildPageQuery, readPage, type LineRow, type PageLimits, type PageRequest } from '../query/logs-page.js';
import { LOGS_TABLE } from '../store/schema.js';
import type { LogStore } from '../store/store.js';
import { answering, tooBusy } from './answering.js';
import { logsQuerySchema, MAX_LIMIT } from './logs-schemas.js';
import { LATE_MS, type TailHub } from './tail-hub.js';

export const tailQuerySchema = (() => {
  const { limit: _l, order: _o, cursor: _c, ...filters } = logsQuerySchema.properties;
  return { ...logsQuerySchema, properties: { ...filters, backlog: { type: 'integer', minimum: 0, maximum: MAX_LIMIT, default: 10, description: 'How many earlier lines to send first' } } } as const;
})();

export function registerTailRoute(app: FastifyInstance, store: LogStore, db: string, limits: PageLimits, hub: TailHub): void {
  app.get('/api/v1/logs/tail', { schema: { querystring: tailQuerySchema } }, async (req, reply) => {
    const { backlog: backlogSize = 10, ...filters } = req.query as PageRequest & { backlog?: number };
    if (!hub.admit()) return tooBusy(reply, 'SHIPLOG_API_MAX_TAIL_CLIENTS', `at most ${hub.opts.maxClients} live tails at once (SHIPLOG_API_MAX_TAIL_CLIENTS); retry shortly`);
    // Parameters are checked before the stream starts, so a bad one is a plain 400.
    const built = await answering(reply, limits, async () => buildPageQuery(db, LOGS_TABLE, { ...filters, limit: Math.max(1, backlogSize), order: 'newest' }, limits));
    if (reply.sent) return reply;
    const asked = Date.now();
    const since = asked - LATE_MS;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    // Headers and a first comment go out at once: the client knows the stream is open before any line.
    res.write(': shiplog live tail\n\n');
    // Joined before the backlog is read, so nothing stored in between is missed.
    const sub = hub.subscribe(filters, res);
    req.raw.on('close', () => sub.end('closed'));
    let backlog: LineRow[] = [];
    let stored: LineRow[] = [];
    try {
      if (backlogSize > 0) backlog = (await readPage(store, built as Awaited<ReturnType<typeof buildPageQuery>>)).rows.reverse();
      // No backlog asked for (docker logs -n 0 -f): the lines stored in the last LATE_MS are
      // already there, so they are not new; only lines stored from now on are sent.
      // Bounded by the moment of asking: a line written before it is old even if stored later.
      else stored = (await readPage(store, buildPageQuery(db, LOGS_TABLE, { ...filters, since: new Date(since).toISOString(), until: new Date(asked).toISOString(), limit: MAX_LIMIT, order: 'newest' }, limits))).rows;
    } catch {
      res.write(`event: error\ndata: ${JSON.stringify({ message: 'reading the backlog failed; following new lines only' })}\n\n`);
    }
    sub.start(backlog, since, stored);
  });
}
