/**
 * The live tail through a burst larger than one poll reads (20 pages of 2,000 lines), all
 * within the lateness window: every line arrives once, in order. Found by the web page's bench:
 * each poll started over at the window and read the same 40,000 seen lines again, so the tail
 * stopped for good after a burst.
 */
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../../collector/http/app.js';
import { RowEncoder } from '../../../collector/ingest/encode-rows.js';
import { ChdbStore } from '../../../collector/store/chdb-store.js';
import { migrate } from '../../../collector/store/migrate.js';
import { LOG_INSERT_COLUMNS } from '../../../collector/store/schema.js';
import { createLogger } from '../../../lib/logger.js';
import type { LogRecord } from '../../../lib/records.js';
import { readSse } from '../../../lib/sse.js';
import { tempDir } from '../../helpers/agent-process.js';
import { waitFor } from '../../helpers/kafka-read.js';

const dir = tempDir('shiplog-burst-');
let store: ChdbStore;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  store = new ChdbStore(`${dir.dir}/chdb`);
  await migrate(store, { database: 'shiplog', retentionDays: 30 }, createLogger('test', 'silent'));
  app = build({ registry: new Registry(), store, status: () => ({ consuming: true, storage: 'up', storageKind: 'chdb' }) });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  dir.cleanup();
});

describe('live tail', () => {
  it('passes a burst of 60,000 lines within one second: each once, in order', async () => {
    const got: string[] = [];
    const ac = new AbortController();
    const res = await fetch(`${url}/api/v1/logs/tail?container=burst&backlog=0`, { signal: ac.signal });
    const reading = (async () => {
      for await (const ev of readSse(res.body as unknown as AsyncIterable<Uint8Array>)) if (ev.event === 'message') got.push((JSON.parse(ev.data) as { message: string }).message);
    })().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500));
    const N = 60_000;
    const start = Date.now();
    for (let b = 0; b < N / 10_000; b++) {
      const lines: LogRecord['lines'] = [];
      for (let i = 0; i < 10_000; i++) {
        const n = b * 10_000 + i;
        const t = new Date(start + Math.floor(n / 100)).toISOString();
        lines.push({ ts: `${t.slice(0, 23)}${String(n % 100).padStart(6, '0')}Z`, stream: 'stdout', msg: `burst ${n}` });
      }
      const enc = new RowEncoder();
      enc.add({ v: 1, type: 'logs', host: 'h', container: { id: 'b'.repeat(64), name: 'burst', image: 'i', labels: {} }, lines, cursor: {} }, { topic: 't', partition: 0, offset: String(b) });
      await store.insertTsv('otel_logs', LOG_INSERT_COLUMNS, enc.take(), `burst-${b}`);
    }
    await waitFor(async () => got.length >= N, 120_000, `all ${N} lines (got ${got.length})`);
    await new Promise((r) => setTimeout(r, 1000));
    ac.abort();
    await reading;
    expect(got.length).toBe(N);
    expect(got).toEqual(Array.from({ length: N }, (_, n) => `burst ${n}`));
  });
});
