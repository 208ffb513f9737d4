/**
 * The embedded store on a quiet host: inserts of a few rows every so often must not rewrite
 * the whole day's part each time (with the engine's defaults every insert merged the new part
 * into it: CPU and disk writes grew with the rows stored). Real chDB, opened the way the
 * collector and `shiplog up` open it. The data dir's size over time is measured in
 * bench/everyday.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadCollectorConfig } from '../../../collector/config.js';
import { RowEncoder } from '../../../collector/consume/encode-rows.js';
import { openStore } from '../../../collector/store/open-store.js';
import { LOG_INSERT_COLUMNS } from '../../../collector/store/schema.js';
import { createLogger } from '../../../lib/logger.js';
import { tempDir } from '../../helpers/agent-process.js';
import type { LogRecord } from '../../../agent/ship/record.js';

const data = tempDir('shiplog-merges-');
afterAll(() => data.cleanup());

function record(i: number): LogRecord {
  const ts = new Date(Date.now() - 1000 + i).toISOString().replace('Z', '000000Z');
  return {
    v: 1,
    type: 'logs',
    host: 'h',
    container: { id: 'c'.repeat(64), name: 'quiet', image: 'busybox', labels: {} },
    lines: Array.from({ length: 5 }, (_, k) => ({ ts, stream: 'stdout' as const, msg: `line ${i}.${k}` })),
    cursor: {},
  };
}

describe('embedded store merges', () => {
  it('48 small inserts: the growing part is rewritten a few times, not 47 (merges take 16 parts at once)', async () => {
    const cfg = loadCollectorConfig({ SHIPLOG_DATA_DIR: data.dir, SHIPLOG_KAFKA_BROKERS: '127.0.0.1:9', SHIPLOG_HTTP_ADDRESS: '127.0.0.1' });
    const store = await openStore(cfg, createLogger('test', 'silent'));
    const parts = async () =>
      (await store.query<{ active: number; level: number }>("SELECT active, level FROM system.parts WHERE database = 'shiplog' AND table = 'otel_logs'")).map((p) => ({ active: Number(p.active), level: Number(p.level) }));
    try {
      for (let i = 0; i < 48; i++) {
        const enc = new RowEncoder();
        enc.add(record(i), { topic: 'test', partition: 0, offset: String(i) });
        await store.insertTsv('otel_logs', LOG_INSERT_COLUMNS, enc.take(), `merge-test-${i}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      // Give the last merge a moment (a loaded machine may need it).
      await new Promise((r) => setTimeout(r, 3000));
      const now = await parts();
      const [{ n } = { n: 0 }] = await store.query<{ n: number }>('SELECT count() AS n FROM shiplog.otel_logs');
      expect(Number(n)).toBe(240);
      // A part's level counts the merges behind it: merging two at a time made ~47 levels.
      expect(Math.max(...now.filter((p) => p.active).map((p) => p.level))).toBeLessThanOrEqual(4);
    } finally {
      await store.close();
    }
  });
});
