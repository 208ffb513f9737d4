/**
 * A container's page over the real engine (chDB): CPU and memory per bucket from stored stats
 * samples (a counter reset at a restart is not a negative rate), lifecycle events with exit
 * codes, and a line's own cursor giving its context (the lines before and after it) exactly.
 */
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../../collector/http/app.js';
import { eventRow, statsRow } from '../../../collector/ingest/aux-rows.js';
import { RowEncoder } from '../../../collector/ingest/encode-rows.js';
import { ChdbStore } from '../../../collector/store/chdb-store.js';
import { migrate } from '../../../collector/store/migrate.js';
import { EVENTS_INSERT_COLUMNS, LOG_INSERT_COLUMNS, STATS_INSERT_COLUMNS } from '../../../collector/store/schema.js';
import { createLogger } from '../../../lib/logger.js';
import type { EventRecord, LogRecord, StatsRecord } from '../../../lib/records.js';
import { tempDir } from '../../helpers/agent-process.js';

const dir = tempDir('shiplog-detail-');
let store: ChdbStore;
let app: FastifyInstance;
const ID = 'd4'.repeat(32);
const container = { id: ID, name: 'worker', image: 'img:2', labels: { tier: 'back end', "it's": 'a \\ quote' } };
/** Samples every 10 s over 10 minutes, on whole minutes, ending a minute ago. */
const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 11 * 60_000;
const RESTART_AT = 30; // sample index where the CPU counter starts again from 0

beforeAll(async () => {
  store = new ChdbStore(`${dir.dir}/chdb`);
  await migrate(store, { database: 'shiplog', retentionDays: 30 }, createLogger('test', 'silent'));
  const at = { topic: 't', partition: 0, offset: '1' };
  let rows = '';
  for (let i = 0; i <= 60; i++) {
    // 0.5 cores: 5 s of CPU per 10 s; memory 100 MiB + i MiB.
    const cpu = (i < RESTART_AT ? i : i - RESTART_AT) * 5e9;
    const s: StatsRecord = {
      v: 1, type: 'stats', host: 'h1', ts: new Date(t0 + i * 10_000).toISOString(), container,
      cpu: { total_ns: cpu, user_ns: cpu, system_ns: 0, periods: 0, throttled_periods: 0, throttled_ns: 0 },
      memory: { usage: 0, working_set: (100 + i) * 2 ** 20, rss: 0, cache: 0, limit: 2 ** 30 }, networks: {}, blkio: { read_bytes: 0, write_bytes: 0 }, pids: 1,
    };
    rows += statsRow(s, at);
  }
  await store.insertTsv('container_stats', STATS_INSERT_COLUMNS, Buffer.from(rows), 'stats');
  const ev = (ms: number, action: string, exit_code?: number): EventRecord => ({ v: 1, type: 'event', host: 'h1', time_nano: `${ms}000000`, container, action, exit_code, attributes: {} });
  await store.insertTsv('container_events', EVENTS_INSERT_COLUMNS, Buffer.from([ev(t0, 'start'), ev(t0 + 299_000, 'die', 3), ev(t0 + 300_000, 'start'), ev(t0 + 301_000, 'health_status: healthy')].map((e) => eventRow(e, at)).join('')), 'events');
  const lines: LogRecord['lines'] = Array.from({ length: 30 }, (_, i) => ({ ts: `${new Date(t0 + (i % 5) * 1000).toISOString().slice(0, 19)}.000000001Z`, stream: 'stdout', msg: `line ${i}` }));
  const enc = new RowEncoder();
  enc.add({ v: 1, type: 'logs', host: 'h1', container, lines, cursor: {} }, { topic: 't', partition: 0, offset: '7' });
  await store.insertTsv('otel_logs', LOG_INSERT_COLUMNS, enc.take(), 'logs');
  app = build({ registry: new Registry(), store, log: createLogger('test', 'error'), status: () => ({ consuming: true, storage: 'up', storageKind: 'chdb' }) });
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  dir.cleanup();
});

describe('a container in detail', () => {
  it('gives CPU in cores and memory per bucket; the restart is no negative rate', async () => {
    const since = new Date(t0).toISOString();
    const until = new Date(t0 + 10 * 60_000).toISOString();
    const r = await app.inject({ url: `/api/v1/containers/${ID.slice(0, 12)}/stats?since=${since}&until=${until}&step=1m` });
    expect(r.statusCode, r.body).toBe(200);
    const s = r.json() as { step_seconds: number; buckets: { time: string; cpu_cores?: number; memory_bytes?: number; memory_max_bytes?: number; memory_limit_bytes?: number }[] };
    expect(s.step_seconds).toBe(60);
    expect(s.buckets).toHaveLength(10);
    for (const b of s.buckets) {
      expect(b.cpu_cores).toBeCloseTo(0.5, 6);
      expect(b.memory_limit_bytes).toBe(2 ** 30);
    }
    // Bucket 2 holds samples 12..17: 112..117 MiB.
    expect(s.buckets[2]?.memory_bytes).toBe(Math.round(114.5 * 2 ** 20));
    expect(s.buckets[2]?.memory_max_bytes).toBe(117 * 2 ** 20);
  });

  it('leaves a bucket without samples empty, and knows no container by a wrong id', async () => {
    const r = await app.inject({ url: `/api/v1/containers/${'e5'.repeat(6)}/stats?since=1h` });
    expect(r.statusCode).toBe(200);
    expect((r.json() as { buckets: object[] }).buckets.every((b) => Object.keys(b).length === 1)).toBe(true);
    expect((await app.inject({ url: '/api/v1/containers/xyz/stats' })).statusCode).toBe(400);
    expect((await app.inject({ url: `/api/v1/containers/${ID}/stats?step=0s` })).statusCode).toBe(400);
  });

  it('counts its restarts in the containers list, and filters lines by a label', async () => {
    const list = (await app.inject({ url: '/api/v1/containers?since=1h' })).json() as { data: { id: string; restarts: number; state: string }[] };
    expect(list.data.find((c) => c.id === ID)).toMatchObject({ restarts: 1 });
    const count = async (label: string) => ((await app.inject({ url: `/api/v1/logs?since=1h&limit=100&label=${encodeURIComponent(label)}` })).json() as { data: unknown[] }).data.length;
    expect(await count('tier=back end')).toBe(30);
    expect(await count('tier')).toBe(30);
    expect(await count('tier=front')).toBe(0);
    expect(await count("it's=a \\ quote")).toBe(30);
    expect((await app.inject({ url: '/api/v1/logs?label==x' })).statusCode).toBe(400);
  });

  it('lists its lifecycle events oldest first, with the exit code of a die', async () => {
    const r = await app.inject({ url: `/api/v1/containers/${ID}/events?since=1h` });
    expect(r.statusCode, r.body).toBe(200);
    const data = (r.json() as { data: { action: string; exit_code?: number; health?: string }[] }).data;
    expect(data.map((e) => e.action)).toEqual(['start', 'die', 'start', 'health_status: healthy']);
    expect(data[1]?.exit_code).toBe(3);
    expect(data[0]?.exit_code).toBeUndefined();
  });

  it("gives each line its cursor: the lines before and after it, exactly", async () => {
    const all = (r: { json(): unknown }) => (r.json() as { data: { message: string; cursor: string }[] }).data;
    const oldest = all(await app.inject({ url: '/api/v1/logs?container=worker&order=oldest&limit=100&since=1h' }));
    expect(oldest).toHaveLength(30);
    const hit = oldest[12] as { cursor: string };
    const after = all(await app.inject({ url: `/api/v1/logs?container=worker&order=oldest&limit=5&since=1h&cursor=${hit.cursor}` }));
    const before = all(await app.inject({ url: `/api/v1/logs?container=worker&order=newest&limit=5&since=1h&cursor=${hit.cursor}` }));
    expect(after.map((l) => l.message)).toEqual(oldest.slice(13, 18).map((l) => l.message));
    expect(before.map((l) => l.message)).toEqual(oldest.slice(7, 12).reverse().map((l) => l.message));
  });
});
