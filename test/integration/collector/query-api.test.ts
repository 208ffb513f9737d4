/**
 * The query API over the real engine (chDB), with stored rows made by the collector's own
 * encoder: paging is exact over many equal timestamps in both orders and with filters, a
 * page ends early at the byte budget, the histogram adds up, the containers list follows
 * logs/stats/events, and an over-long query is stopped with a 503 naming the setting.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogRecord } from '../../../agent/ship/record.js';
import { eventRow, statsRow, type EventRecord, type StatsRecord } from '../../../collector/ingest/aux-rows.js';
import { RowEncoder } from '../../../collector/ingest/encode-rows.js';
import { build } from '../../../collector/http/app.js';
import { ChdbStore } from '../../../collector/store/chdb-store.js';
import { migrate } from '../../../collector/store/migrate.js';
import { EVENTS_INSERT_COLUMNS, LOG_INSERT_COLUMNS, STATS_INSERT_COLUMNS } from '../../../collector/store/schema.js';
import { createLogger } from '../../../lib/logger.js';
import { Registry } from 'prom-client';
import { tempDir } from '../../helpers/agent-process.js';

const dir = tempDir('shiplog-query-');
let store: ChdbStore;
let app: FastifyInstance;
let tight: FastifyInstance;
let slow: FastifyInstance;
let storedAt = 0;
const log = createLogger('test', 'silent');
const BUDGET = 64 * 1024;

const IDS = ['a1'.repeat(32), 'b2'.repeat(32), 'c3'.repeat(32)];
const NAMES = ['web-1', 'web-2', 'db'];
/** Every line as stored, in the API's newest-first order is checked against this set. */
const all: { id: string; ts: string; msg: string; stream: string }[] = [];
const base = Date.now() - 30 * 60_000;
/** Only 25 distinct timestamps for 3 × 1,200 lines: most lines share theirs with many others. */
const tsOf = (i: number) => `${new Date(base + (i % 25) * 1000).toISOString().slice(0, 19)}.123456789Z`;

function record(c: number, lines: LogRecord['lines']): LogRecord {
  return { v: 1, type: 'logs', host: c === 2 ? 'h2' : 'h1', container: { id: IDS[c] as string, name: NAMES[c] as string, image: 'img:1', labels: {} }, lines, cursor: {} };
}

beforeAll(async () => {
  store = new ChdbStore(`${dir.dir}/chdb`);
  await migrate(store, { database: 'shiplog', retentionDays: 30 }, log);
  let offset = 0;
  for (let c = 0; c < 3; c++) {
    // Records of 50 lines with timestamps that go back and forth, as several streams interleave.
    for (let r = 0; r < 24; r++) {
      const lines: LogRecord['lines'] = [];
      for (let i = 0; i < 50; i++) {
        const n = r * 50 + i;
        const ts = tsOf(n * 7);
        const stream = n % 3 === 0 ? 'stderr' : 'stdout';
        const msg = `${NAMES[c]} line ${n}${n % 10 === 0 ? ' ERROR boom' : ''} ${'.'.repeat(n % 40)}`;
        lines.push({ ts, stream, msg });
        all.push({ id: IDS[c] as string, ts, msg, stream });
      }
      const enc = new RowEncoder();
      enc.add(record(c, lines), { topic: 'shiplog.logs', partition: c, offset: String(offset++) });
      await store.insertTsv('otel_logs', LOG_INSERT_COLUMNS, enc.take(), `t-${offset}`);
    }
  }
  const now = Date.now();
  storedAt = now;
  const at = { topic: 'shiplog.stats', partition: 0, offset: '1' };
  const container = (c: number) => ({ id: IDS[c] as string, name: NAMES[c] as string, image: 'img:1', labels: {} });
  const host = (c: number) => (c === 2 ? 'h2' : 'h1');
  const stat = (c: number, ms: number): StatsRecord => ({
    v: 1, type: 'stats', host: host(c), ts: new Date(ms).toISOString(), container: container(c),
    cpu: { total_ns: 1, user_ns: 1, system_ns: 0, periods: 0, throttled_periods: 0, throttled_ns: 0 },
    memory: { usage: 1, working_set: 1, rss: 1, cache: 0, limit: 0 }, networks: {}, blkio: { read_bytes: 0, write_bytes: 0 }, pids: 1,
  });
  const event = (c: number, ms: number, action: string, exitCode?: number): EventRecord => ({
    v: 1, type: 'event', host: host(c), time_nano: `${ms}000000`, container: container(c), action, exit_code: exitCode, attributes: {},
  });
  // web-1 runs (fresh sample after its start); web-2 died with 3; db started long ago, sampled now.
  await store.insertTsv('container_stats', STATS_INSERT_COLUMNS, Buffer.from(statsRow(stat(0, now - 5000), at) + statsRow(stat(2, now - 3000), at)), 's1');
  await store.insertTsv(
    'container_events',
    EVENTS_INSERT_COLUMNS,
    Buffer.from(eventRow(event(0, now - 60_000, 'start'), at) + eventRow(event(1, now - 60_000, 'start'), at) + eventRow(event(1, now - 10_000, 'die', 3), at)),
    'e1',
  );
  app = build({ registry: new Registry(), store, status: () => ({ consuming: true, storage: 'up', storageKind: 'chdb' }) });
  const status = () => ({ consuming: true, storage: 'up' as const, storageKind: 'chdb' });
  tight = build({ registry: new Registry(), store, limits: { maxResultBytes: BUDGET, queryTimeoutMs: 10_000 }, status });
  slow = build({ registry: new Registry(), store, limits: { maxResultBytes: BUDGET, queryTimeoutMs: 1 }, status });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await tight?.close();
  await slow?.close();
  await store?.close();
  dir.cleanup();
});

interface Line {
  timestamp: string;
  container_id: string;
  message: string;
  stream: string;
}

async function get<T>(a: FastifyInstance, url: string): Promise<{ status: number; body: T }> {
  const r = await a.inject({ method: 'GET', url });
  return { status: r.statusCode, body: r.json() as T };
}

/** Every page of a query, following next_cursor. */
async function pages(a: FastifyInstance, query: string): Promise<{ lines: Line[]; sizes: number[] }> {
  const lines: Line[] = [];
  const sizes: number[] = [];
  let cursor: string | null = null;
  do {
    const r: { status: number; body: { data: Line[]; next_cursor: string | null } } = await get(a, `/api/v1/logs?${query}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    lines.push(...r.body.data);
    sizes.push(r.body.data.length);
    cursor = r.body.next_cursor;
    expect(sizes.length).toBeLessThan(10_000);
  } while (cursor);
  return { lines, sizes };
}

const key = (l: { container_id?: string; id?: string; message?: string; msg?: string }) => `${l.container_id ?? l.id}|${l.message ?? l.msg}`;

describe('query API on the real engine', () => {
  it('pages are exact over equal timestamps, newest or oldest first, with and without filters', async () => {
    expect(new Set(all.map((l) => l.ts)).size).toBe(25);
    const full = await get<{ data: Line[]; next_cursor: string | null }>(app, '/api/v1/logs?limit=10000');
    expect(full.body.data).toHaveLength(all.length);
    expect(full.body.next_cursor).toBeNull();
    const newest = full.body.data.map(key);
    expect(new Set(newest).size).toBe(all.length);
    // Time never goes forward in newest-first order; within one container and timestamp the stored order is reversed.
    for (let i = 1; i < full.body.data.length; i++) expect((full.body.data[i] as Line).timestamp <= (full.body.data[i - 1] as Line).timestamp).toBe(true);

    // One line a page: the first 40 pages walk through equal timestamps one by one.
    let cursor = '';
    for (let i = 0; i < 40; i++) {
      const r = await get<{ data: Line[]; next_cursor: string }>(app, `/api/v1/logs?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.body.data.map(key)).toEqual([newest[i]]);
      cursor = r.body.next_cursor;
    }
    for (const limit of [13, 100, 999]) {
      const p = await pages(app, `limit=${limit}`);
      expect(p.lines.map(key), `limit ${limit}`).toEqual(newest);
      expect(p.sizes.slice(0, -1).every((s) => s === limit)).toBe(true);
    }
    const oldest = await pages(app, 'limit=333&order=oldest');
    expect(oldest.lines.map(key)).toEqual([...newest].reverse());

    // Filters with paging: container glob, stream, level, text, time range.
    const want = all.filter((l) => l.id !== IDS[2] && l.stream === 'stderr' && l.msg.includes('ERROR'));
    const filtered = await pages(app, 'limit=5&container=web-*&stream=stderr&level=error');
    expect(filtered.lines.map(key).sort()).toEqual(want.map(key).sort());
    const since = tsOf(10);
    const until = tsOf(20);
    const ranged = await pages(app, `limit=50&order=oldest&q=${encodeURIComponent('line 1')}&since=${since}&until=${until}`);
    const wantRanged = all.filter((l) => l.ts >= since && l.ts < until && l.msg.includes('line 1'));
    expect(ranged.lines.map(key).sort()).toEqual(wantRanged.map(key).sort());
    expect(ranged.lines.length).toBeGreaterThan(50);
  });

  it('a page ends at the byte budget (with a cursor) and a bad cursor is a 400', async () => {
    const p = await pages(tight, 'limit=10000');
    expect(p.lines.map(key)).toEqual((await get<{ data: Line[] }>(app, '/api/v1/logs?limit=10000')).body.data.map(key));
    // Each page but the last holds at least BUDGET bytes of text, and passes it by its last line at most.
    const total = all.reduce((s, l) => s + Buffer.byteLength(l.msg), 0);
    expect(p.sizes.length).toBe(Math.ceil(total / BUDGET));
    let at = 0;
    for (const [i, size] of p.sizes.entries()) {
      const bytes = p.lines.slice(at, at + size).map((l) => Buffer.byteLength(l.message));
      const sum = bytes.reduce((a, b) => a + b, 0);
      expect(sum - (bytes[bytes.length - 1] as number)).toBeLessThan(BUDGET);
      if (i < p.sizes.length - 1) expect(sum).toBeGreaterThanOrEqual(BUDGET);
      at += size;
    }
    for (const bad of ['nonsense', Buffer.from('[1,2]').toString('base64url'), Buffer.from('["1","x","t",0,"0",0]').toString('base64url')]) {
      const r = await get<{ parameter: string; message: string }>(app, `/api/v1/logs?cursor=${bad}`);
      expect(r.status).toBe(400);
      expect(r.body.parameter).toBe('cursor');
    }
    const order = await get<{ message: string }>(app, '/api/v1/logs?order=sideways');
    expect(order.status).toBe(400);
    expect(order.body.message).toContain('order');
  });

  it('the histogram counts every line once, by level, in fixed buckets', async () => {
    const r = await get<{ interval_seconds: number; buckets: { time: string; total: number; levels: Record<string, number> }[] }>(app, '/api/v1/logs/histogram?since=1h&interval=1m');
    expect(r.status).toBe(200);
    expect(r.body.interval_seconds).toBe(60);
    expect(r.body.buckets.length).toBeGreaterThanOrEqual(60);
    expect(r.body.buckets.length).toBeLessThanOrEqual(61);
    expect(r.body.buckets.reduce((s, b) => s + b.total, 0)).toBe(all.length);
    expect(r.body.buckets.reduce((s, b) => s + (b.levels.error ?? 0), 0)).toBe(all.filter((l) => l.msg.includes('ERROR')).length);
    const web2 = await get<{ buckets: { total: number }[] }>(app, '/api/v1/logs/histogram?since=1h&container=web-2&stream=stdout');
    expect(web2.body.buckets.reduce((s, b) => s + b.total, 0)).toBe(all.filter((l) => l.id === IDS[1] && l.stream === 'stdout').length);
    const auto = await get<{ interval_seconds: number; buckets: unknown[] }>(app, '/api/v1/logs/histogram?since=7d');
    expect(auto.body.interval_seconds).toBe(3 * 3600);
    expect(auto.body.buckets.length).toBeLessThanOrEqual(120);
    const tooMany = await get<{ parameter: string }>(app, '/api/v1/logs/histogram?since=7d&interval=1s');
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.parameter).toBe('interval');
  });

  it('lists containers with host, image, state, last seen and log volume', async () => {
    const r = await get<{ data: Record<string, unknown>[] }>(app, '/api/v1/containers');
    expect(r.status).toBe(200);
    const by = Object.fromEntries(r.body.data.map((c) => [c.name, c]));
    expect(Object.keys(by).sort()).toEqual(['db', 'web-1', 'web-2']);
    expect(by['web-1']).toMatchObject({ host: 'h1', id: IDS[0], image: 'img:1', state: 'running', log_lines: 1200 });
    expect(by['web-2']).toMatchObject({ host: 'h1', state: 'exited', exit_code: 3, log_lines: 1200 });
    expect(by.db).toMatchObject({ host: 'h2', state: 'running', log_lines: 1200 });
    expect(by['web-1']?.log_bytes).toBe(all.filter((l) => l.id === IDS[0]).reduce((s, l) => s + Buffer.byteLength(l.msg), 0));
    expect(Date.parse(by['web-1']?.last_seen as string)).toBe(storedAt - 5000);
    const h2 = await get<{ data: { name: string }[] }>(app, '/api/v1/containers?host=h2');
    expect(h2.body.data.map((c) => c.name)).toEqual(['db']);
  });

  it('a query running past SHIPLOG_API_QUERY_TIMEOUT is stopped with a 503 naming it', async () => {
    // 64 MiB of text for a regular expression to chew on, against a 1 ms limit.
    const big = 'x'.repeat(1024 * 1024);
    for (let b = 0; b < 4; b++) {
      const enc = new RowEncoder();
      const lines: LogRecord['lines'] = [];
      for (let i = 0; i < 16; i++) lines.push({ ts: new Date(base).toISOString(), stream: 'stdout', msg: big });
      enc.add(record(0, lines), { topic: 'shiplog.logs', partition: 9, offset: String(b) });
      await store.insertTsv('otel_logs', LOG_INSERT_COLUMNS, enc.take(), `big-${b}`);
    }
    const r = await get<{ error: string; message: string }>(slow, `/api/v1/logs?regex=true&q=${encodeURIComponent('x[^y]*z')}`);
    expect(r.status, JSON.stringify(r.body)).toBe(503);
    expect(r.body.error).toBe('query_timeout');
    expect(r.body.message).toContain('SHIPLOG_API_QUERY_TIMEOUT');
  });
});
