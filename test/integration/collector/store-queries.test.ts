/**
 * The schema against the real engine: migrations are idempotent and follow the retention
 * setting; and the table layout prunes data for the two common searches — one container over
 * the last hour (sorting key) and a word across all containers over the last day (daily
 * partitions + token bloom filter) — shown by rows read, not by timing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealisticLogs } from '../../../bench/gen/realistic-logs.js';
import { RowEncoder } from '../../../collector/ingest/encode-rows.js';
import { ChdbStore } from '../../../collector/store/chdb-store.js';
import { migrate } from '../../../collector/store/migrate.js';
import { LOG_INSERT_COLUMNS, MIGRATIONS } from '../../../collector/store/schema.js';
import { createLogger } from '../../../lib/logger.js';
import { tempDir } from '../../helpers/agent-process.js';

const dir = tempDir('shiplog-store-');
let store: ChdbStore;
const log = createLogger('test', 'silent');
const TOTAL = 400_000;

beforeAll(async () => {
  store = new ChdbStore(`${dir.dir}/chdb`);
  await migrate(store, { database: 'shiplog', retentionDays: 30 }, log);
  const gen = new RealisticLogs({ containers: 40, spanMs: 2 * 86_400_000 });
  const now = Date.now();
  let n = 0;
  while (n < TOTAL) {
    const enc = new RowEncoder();
    for (const rec of gen.batch(1000, now, TOTAL, (i) => (i === 300_001 ? 'payment gateway said needle-7f3a9c' : undefined))) enc.add(rec, { topic: 't', partition: 0, offset: String(n) });
    n += enc.rows;
    await store.insertTsv('otel_logs', LOG_INSERT_COLUMNS, enc.take(), `bulk-${n}`);
  }
  await store.exec('OPTIMIZE TABLE shiplog.otel_logs FINAL');
}, 180_000);

afterAll(async () => {
  await store?.close();
  dir.cleanup();
});

/** Rows the engine plans to read after partition, key and skip-index pruning (EXPLAIN ESTIMATE). */
async function rowsRead(sql: string): Promise<{ rows: number; result: Record<string, unknown>[] }> {
  const [est] = await store.query<{ rows: string | number }>(`EXPLAIN ESTIMATE ${sql}`);
  return { rows: Number(est?.rows ?? -1), result: await store.query(sql) };
}

describe('schema and layout on the real engine', () => {
  it('migrations are versioned and idempotent; retention follows the setting', async () => {
    const latest = MIGRATIONS[MIGRATIONS.length - 1]?.version;
    expect(await migrate(store, { database: 'shiplog', retentionDays: 30 }, log)).toBe(latest);
    const versions = await store.query<{ version: number }>('SELECT version FROM shiplog.shiplog_schema_migrations ORDER BY version');
    expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((m) => m.version));
    await migrate(store, { database: 'shiplog', retentionDays: 7 }, log);
    for (const table of ['otel_logs', 'container_stats', 'container_events']) {
      const [t] = await store.query<{ q: string }>(`SELECT create_table_query AS q FROM system.tables WHERE database = 'shiplog' AND name = '${table}'`);
      expect(t?.q, table).toContain('toIntervalDay(7)');
    }
    await migrate(store, { database: 'shiplog', retentionDays: 30 }, log);
  });

  it('one container, last hour: the sorting key limits what is read', async () => {
    const { rows, result } = await rowsRead(
      "SELECT Timestamp, Body FROM shiplog.otel_logs WHERE ServiceName = 'api' AND ContainerName = 'api-1' AND Timestamp >= now() - INTERVAL 1 HOUR ORDER BY Timestamp DESC LIMIT 100",
    );
    expect(result.length).toBeGreaterThan(0);
    // 40 containers over 48 h: one container's last hour is ~1/1920 of the table.
    expect(rows).toBeGreaterThan(0);
    expect(rows).toBeLessThan(TOTAL / 20);
  });

  it('a word in any container, last day: partitions and the token index skip most data', async () => {
    const { rows, result } = await rowsRead("SELECT count() AS c FROM shiplog.otel_logs WHERE hasToken(Body, 'needle') AND Timestamp >= now() - INTERVAL 1 DAY");
    expect(Number(result[0]?.c)).toBe(1);
    expect(rows).toBeGreaterThan(0);
    expect(rows).toBeLessThan(TOTAL / 10);
    const plan = await store.query<{ explain: string }>("EXPLAIN indexes = 1 SELECT count() FROM shiplog.otel_logs WHERE hasToken(Body, 'needle') AND Timestamp >= now() - INTERVAL 1 DAY");
    expect(plan.map((p) => p.explain).join('\n')).toContain('idx_body');
  });
});
