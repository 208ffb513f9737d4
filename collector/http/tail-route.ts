/**
 * GET /api/v1/logs/tail: Server-Sent Events with the filters of /api/v1/logs. First the
 * newest `backlog` lines (oldest first), then every new stored line. Four times a second the
 * store is read, oldest first and page by page, from LATE_MS before the newest line sent
 * (lines of other containers can be stored after newer ones); lines already sent — known by
 * their exact position, see logs-page.ts — are skipped.
 * A comment every 15 s keeps proxies from closing the stream.
 */
import type { FastifyInstance } from 'fastify';
import { BadParameter } from '../query/filters.js';
import { buildPageQuery, encodeCursor, positionOf, readPage, toLine, type LineRow, type PageLimits, type PageRequest } from '../query/logs-page.js';
import { LOGS_TABLE } from '../store/schema.js';
import type { LogStore } from '../store/store.js';
import { logsQuerySchema, MAX_LIMIT } from './logs-route.js';

const POLL_MS = 250;
/** How much later than a newer line a line may be stored and still be tailed. */
const LATE_MS = 5000;
/** Pages read per poll at most; a faster stream than this is sent at this pace. */
const PAGES_PER_POLL = 20;

export function registerTailRoute(app: FastifyInstance, store: LogStore, db: string, limits: PageLimits): void {
  const { limit: _l, order: _o, cursor: _c, ...filters } = logsQuerySchema.properties;
  const schema = { ...logsQuerySchema, properties: { ...filters, backlog: { type: 'integer', minimum: 0, maximum: MAX_LIMIT, default: 10 } } };
  app.get('/api/v1/logs/tail', { schema: { querystring: schema } }, async (req, reply) => {
    const q = req.query as PageRequest & { backlog?: number };
    const backlogSize = q.backlog ?? 10;
    let backlog: LineRow[] = [];
    try {
      // Parameters are checked (and the backlog read) before the stream starts, so errors are a plain 400.
      const built = buildPageQuery(db, LOGS_TABLE, { ...q, limit: Math.max(1, backlogSize), order: 'newest' }, limits);
      if (backlogSize > 0) backlog = (await readPage(store, built)).rows.reverse();
    } catch (err) {
      if (err instanceof BadParameter) return reply.code(400).send({ error: 'bad_parameter', parameter: err.parameter, message: err.message });
      throw err;
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    let closed = false;
    req.raw.on('close', () => {
      closed = true;
    });
    /** Lines sent within the lateness window, by position, with their time (ms). */
    const sent = new Map<string, number>();
    let newest = Date.now() - LATE_MS;
    // Nothing older than the backlog's newest line (or, without a backlog, than the request
    // minus the lateness window): `backlog` means exactly that many earlier lines.
    let floor = newest;
    const deliver = (r: LineRow) => {
      const k = encodeCursor(positionOf(r));
      if (sent.has(k)) return;
      const t = Date.parse(r.timestamp);
      if (t < floor) return;
      sent.set(k, t);
      if (t > newest) newest = t;
      res.write(`data: ${JSON.stringify(toLine(r))}\n\n`);
    };
    floor = -Infinity;
    for (const r of backlog) deliver(r);
    floor = backlog.length ? newest : Date.now() - LATE_MS;
    let lastBeat = Date.now();
    while (!closed) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (closed) break;
      const from = newest - LATE_MS;
      let cursor: string | undefined;
      try {
        for (let pages = 0; pages < PAGES_PER_POLL && !closed; pages++) {
          const page = await readPage(store, buildPageQuery(db, LOGS_TABLE, { ...q, since: new Date(from).toISOString(), limit: MAX_LIMIT, order: 'oldest', cursor }, limits));
          for (const r of page.rows) deliver(r);
          if (!page.next) break;
          cursor = page.next;
        }
      } catch (err) {
        res.write(`event: error\ndata: ${JSON.stringify({ message: (err as Error).message })}\n\n`);
        continue;
      }
      for (const [k, t] of sent) if (t < from - 1000) sent.delete(k);
      if (Date.now() - lastBeat > 15_000) {
        res.write(': keep-alive\n\n');
        lastBeat = Date.now();
      }
    }
    res.end();
  });
}
