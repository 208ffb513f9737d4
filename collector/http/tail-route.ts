/**
 * GET /api/v1/logs/tail: Server-Sent Events with the filters of /api/v1/logs. First the
 * newest `backlog` lines (oldest first), then every new stored line. Four times a second the
 * store is asked for lines stamped up to LATE_MS before the newest one sent (lines of other
 * containers can be stored after newer ones), and lines already sent are skipped.
 * A comment every 15 s keeps proxies from closing the stream.
 */
import type { FastifyInstance } from 'fastify';
import type { LogStore } from '../store/store.js';
import { BadParameter, buildLogsQuery, logsQuerySchema, type LogsQuery, type LogRow, toLine } from './logs-route.js';

const POLL_MS = 250;
/** How much later than a newer line a line may be stored and still be tailed. */
const LATE_MS = 5000;

export function registerTailRoute(app: FastifyInstance, store: LogStore, db: string): void {
  const schema = {
    ...logsQuerySchema,
    properties: { ...logsQuerySchema.properties, backlog: { type: 'integer', minimum: 0, maximum: 10_000, default: 10 } },
  };
  app.get('/api/v1/logs/tail', { schema: { querystring: schema } }, async (req, reply) => {
    const q = req.query as LogsQuery & { backlog?: number };
    let first;
    try {
      first = buildLogsQuery(db, { ...q, limit: Math.max(1, q.backlog ?? 10) });
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
    const send = (line: object) => res.write(`data: ${JSON.stringify(line)}\n\n`);
    const backlog = (q.backlog ?? 10) > 0 ? (await store.query<LogRow>(first.sql, first.params)).reverse() : [];
    const key = (r: LogRow) => `${r.timestamp}\u0000${r.container_id}\u0000${r.stream}\u0000${r.body_hex}`;
    /** Lines sent within the lateness window, by key, with their time (ms). */
    const sent = new Map<string, number>();
    let newest = Date.now() - LATE_MS;
    // Nothing older than the backlog's newest line (or, without a backlog, than the request
    // minus the lateness window): `backlog` means exactly that many earlier lines.
    let floor = newest;
    const deliver = (r: LogRow) => {
      const k = key(r);
      if (sent.has(k)) return;
      const t = Date.parse(r.timestamp);
      if (t < floor) return;
      sent.set(k, t);
      if (t > newest) newest = t;
      send(toLine(r));
    };
    for (const r of backlog) {
      floor = -Infinity;
      deliver(r);
    }
    if (backlog.length) floor = newest;
    let lastBeat = Date.now();
    while (!closed) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (closed) break;
      const from = newest - LATE_MS;
      const { sql, params } = buildLogsQuery(db, { ...q, since: new Date(from).toISOString(), limit: 10_000 });
      let rows: LogRow[];
      try {
        rows = (await store.query<LogRow>(sql, params)).reverse();
      } catch (err) {
        res.write(`event: error\ndata: ${JSON.stringify({ message: (err as Error).message })}\n\n`);
        continue;
      }
      for (const r of rows) deliver(r);
      for (const [k, t] of sent) if (t < from - 1000) sent.delete(k);
      if (Date.now() - lastBeat > 15_000) {
        res.write(': keep-alive\n\n');
        lastBeat = Date.now();
      }
    }
    res.end();
  });
}
