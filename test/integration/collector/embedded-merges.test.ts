/**
 * The embedded store on a quiet host: inserts of a few rows every so often must not rewrite
 * the growing part of the day each time (with the engine's default selector every second's
 * part was merged into it: CPU and disk writes grew with the rows stored that day). Real chDB,
 * opened the way the collector and `shiplog up` open it. Cost over time is measured in
 * bench/everyday.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadCollectorConfig } from '../../../collector/config.js';
import { RowEncoder } from '../../../collector/ingest/encode-rows.js';
import { openStore } from '../../../collector/store/open-store.js';
import { LOG_INSERT_COLUMNS } from '../../../collector/store/schema.js';
import type { LogStore } from '../../../collector/store/store.js';
import { createLogger } from '../../../lib/logger.js';
import { tempDir } from '../../helpers/agent-process.js';
import type { LogRecord } from '../../../agent/ship/record.js';

const data = tempDir('shiplog-merges-');
afterAll(() => data.cleanup());

function record(i: number, lines: number): LogRecord {
  const ts = new Date(Date.now() - 1000 + i).toISOString().replace('Z', '000000Z');
  return {
    v: 1,
    type: 'logs',
    host: 'h',
    container: { id: 'c'.repeat(64), name: 'quiet', image: 'busybox', labels: {} },
    lines: Array.from({ length: lines }, (_, k) => ({ ts, stream: 'stdout' as const, msg: `line ${i}.${k}` })),
    cursor: {},
  };
}

async function insert(store: LogStore, i: number, lines: number): Promise<void> {
  const enc = new RowEncoder();
  enc.add(record(i, lines), { topic: 'test', partition: 0, offset: String(i) });
  await store.insertTsv('otel_logs', LOG_INSERT_COLUMNS, enc.take(), `merge-test-${i}`);
}

interface Part {
  name: string;
  level: number;
  rows: number;
}

async function activeParts(store: LogStore): Promise<Part[]> {
  const rows = await store.query<Part>("SELECT name, level, rows FROM system.parts WHERE database = 'shiplog' AND table = 'otel_logs' AND active");
  return rows.map((p) => ({ name: p.name, level: Number(p.level), rows: Number(p.rows) }));
}

describe('embedded store merges', () => {
  it('150 small inserts after a big part: the big part is left alone; small parts merge ten at a time, a few levels deep', async () => {
    const cfg = loadCollectorConfig({ SHIPLOG_DATA_DIR: data.dir, SHIPLOG_KAFKA_BROKERS: '127.0.0.1:9', SHIPLOG_HTTP_ADDRESS: '127.0.0.1' });
    const store = await openStore(cfg, createLogger('test', 'silent'));
    try {
      // The day so far: one big part, merged a few times already (as hours of a day's parts would be).
      await insert(store, 0, 20_000);
      for (let k = 0; k < 3; k++) await store.exec('OPTIMIZE TABLE shiplog.otel_logs FINAL');
      const [big] = await activeParts(store);
      expect(big?.rows).toBe(20_000);
      for (let i = 1; i <= 150; i++) {
        await insert(store, i, 5);
        await new Promise((r) => setTimeout(r, 100));
      }
      // Give the last merge a moment (a loaded machine may need it).
      await new Promise((r) => setTimeout(r, 3000));
      const now = await activeParts(store);
      const [{ n } = { n: 0 }] = await store.query<{ n: number }>('SELECT count() AS n FROM shiplog.otel_logs');
      expect(Number(n)).toBe(20_000 + 150 * 5);
      // Never rewritten: each new second's part merged into the big one is what made cost grow with the rows stored.
      expect(now.map((p) => p.name)).toContain(big?.name);
      const small = now.filter((p) => p.name !== big?.name);
      // A part's level counts the merges behind it. Merging the growing part with each few
      // new ones reached level 26 after 400 inserts; ten at a time, 150 inserts need 2.
      expect(Math.max(...small.map((p) => p.level))).toBeLessThanOrEqual(3);
      // ...and they do merge: 150 one-insert parts are a handful of parts.
      expect(small.length).toBeLessThanOrEqual(30);
    } finally {
      await store.close();
    }
  });
});
