/**
 * GET /api/v1/logs/tail: Server-Sent Events with the filters of /api/v1/logs. First the
 * newest `backlog` lines (oldest first), then every new stored line (tail-hub.ts). Events:
 * `message` (a line, as in /api/v1/logs, with its position as the event id), `error` (reading
 * failed; the server retries), `end` (the server closed the stream: `slow_reader` or
 * `shutdown`). A client that reconnects with `Last-Event-ID` (header, or `last_event_id`)
 * gets the lines after that one instead of a backlog: nothing missed, nothing twice. A comment
 * every 15 s keeps proxies from closing the stream. Past SHIPLOG_API_MAX_TAIL_CLIENTS streams: 429.
 */
import type { FastifyInstance } from 'fastify';
import { buildPageQuery, decodeCursor, readPage, type BuiltPage, type LineRow, type PageLimits, type PageRequest } from '../query/logs-page.js';
import { LOGS_TABLE } from '../store/schema.js';
import type { LogStore } from '../store/store.js';
import { answering, tooBusy } from './answering.js';
import { logsQuerySchema, MAX_LIMIT } from './logs-schemas.js';
import { LATE_MS, type TailHub } from './tail-hub.js';

/** Pages of MAX_LIMIT lines a resuming client is sent at most before it goes live. */
const RESUME_PAGES = 10;

export const tailQuerySchema = (() => {
  const { limit: _l, order: _o, cursor: _c, ...filters } = logsQuerySchema.properties;
  return {
    ...logsQuerySchema,
    properties: {
      ...filters,
      backlog: { type: 'integer', minimum: 0, maximum: MAX_LIMIT, default: 10, description: 'How many earlier lines to send first' },
      last_event_id: { ...logsQuerySchema.properties.cursor, description: 'Resume after this line (the id of the last event received; the Last-Event-ID header does the same)' },
    },
  } as const;
})();

export function registerTailRoute(app: FastifyInstance, store: LogStore, db: string, limits: PageLimits, hub: TailHub): void {
  app.get('/api/v1/logs/tail', { schema: { querystring: tailQuerySchema } }, async (req, reply) => {
    const { backlog: backlogSize = 10, last_event_id: lastIdParam, ...filters } = req.query as PageRequest & { backlog?: number; last_event_id?: string };
    const header = req.headers['last-event-id'];
    const lastId = lastIdParam ?? (typeof header === 'string' && header !== '' ? header : undefined);
    if (!hub.admit()) return tooBusy(reply, 'SHIPLOG_API_MAX_TAIL_CLIENTS', `at most ${hub.opts.maxClients} live tails at once (SHIPLOG_API_MAX_TAIL_CLIENTS); retry shortly`);
    // Parameters are checked before the stream starts, so a bad one is a plain 400.
    const built = await answering(reply, limits, async () =>
      lastId !== undefined
        ? buildPageQuery(db, LOGS_TABLE, { ...filters, limit: MAX_LIMIT, order: 'oldest', cursor: lastId }, limits)
        : buildPageQuery(db, LOGS_TABLE, { ...filters, limit: Math.max(1, backlogSize), order: 'newest' }, limits),
    );
    if (reply.sent) return reply;
    const resumeAt = lastId !== undefined ? Number(BigInt(decodeCursor(lastId).tsNs) / 1_000_000n) : undefined;
    const asked = Date.now();
    const since = asked - LATE_MS;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    // Headers and a first comment go out at once: the client knows the stream is open before any line.
    res.write(': shiplog live tail\n\n');
    // Joined before the backlog is read, so nothing stored in between is missed.
    const sub = hub.subscribe(filters, res);
    // A client gone: the request or the response closes (whichever Node reports first); a close
    // both miss is still found by the next write (a line, or the keep-alive comment).
    const gone = () => sub.end('closed');
    req.raw.on('close', gone);
    res.on('close', gone);
    if (res.destroyed) gone();
    /** The lines stored with a time in [fromMs, toMs): those the client has, or must not get as new. */
    const storedBetween = async (fromMs: number, toMs: number) =>
      (await readPage(store, buildPageQuery(db, LOGS_TABLE, { ...filters, since: new Date(fromMs).toISOString(), until: new Date(toMs).toISOString(), limit: MAX_LIMIT, order: 'newest' }, limits))).rows;
    let backlog: LineRow[] = [];
    let stored: LineRow[] = [];
    try {
      if (resumeAt !== undefined) {
        // The lines after the last one the client got, page by page (a restart's worth, bounded).
        let page = await readPage(store, built as BuiltPage);
        backlog = page.rows;
        for (let n = 1; page.next && n < RESUME_PAGES; n++) {
          page = await readPage(store, buildPageQuery(db, LOGS_TABLE, { ...filters, limit: MAX_LIMIT, order: 'oldest', cursor: page.next }, limits));
          backlog.push(...page.rows);
        }
        // Those up to it were sent before the client reconnected.
        stored = await storedBetween(resumeAt - LATE_MS, resumeAt + 1);
      } else if (backlogSize > 0) backlog = (await readPage(store, built as BuiltPage)).rows.reverse();
      // No backlog asked for (docker logs -n 0 -f): the lines stored in the last LATE_MS are
      // already there, so they are not new; only lines stored from now on are sent.
      // Bounded by the moment of asking: a line written before it is old even if stored later.
      else stored = await storedBetween(since, asked);
    } catch {
      res.write(`event: error\ndata: ${JSON.stringify({ message: 'reading the backlog failed; following new lines only' })}\n\n`);
    }
    sub.start(backlog, resumeAt ?? since, stored);
  });
}
