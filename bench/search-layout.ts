/**
 * Search and layout on the embedded engine (chDB), 10 M rows (BENCH_SEARCH_ROWS), same run:
 *   - Grafana's ClickHouse plugin, OTel mode, default logs query (a Timestamp range, newest
 *     first, 1000 rows) and a logs-volume query (lines per minute and level) over the last hour
 *     of two days: on shiplog's table and on the table the
 *     OpenTelemetry exporter v0.165.0 creates (its own DDL, test/fixtures/otel-clickhouse-exporter);
 *   - the API's text search over two days, as the API builds it (collector/query/filters.ts):
 *     a substring (`q`, LIKE) against whole words (`q` + `words=true`, hasToken on lower(Body)),
 *     for a needle in one row and for a common word.
 * Figures: granules read after pruning (EXPLAIN indexes = 1) of the granules in the table, and the
 * median time. Rows are made by the engine (INSERT … SELECT), not by the collector's path.
 * Writes bench/results/search-layout.json.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logFilters, whereSql } from '../collector/query/filters.js';
import { ChdbStore } from '../collector/store/chdb-store.js';
import { migrate } from '../collector/store/migrate.js';
import type { QueryParams } from '../collector/store/store.js';
import { createLogger } from '../lib/logger.js';
import { root, saveResult } from './lib/env.js';

const ROWS = Number(process.env.BENCH_SEARCH_ROWS ?? 10_000_000);
const CONTAINERS = 40;
const SPAN_S = 2 * 86_400;

/** Rows of realistic shape: 40 containers over two days, bodies of 6–14 words (numbers, 10 common words, 5,000 rarer ones), one needle. */
function fillSql(nowS: number): string {
  return `INSERT INTO shiplog.otel_logs (Timestamp, SeverityText, SeverityNumber, ServiceName, Body, ResourceAttributes, LogAttributes)
SELECT fromUnixTimestamp64Nano(toInt64(${nowS}) * 1000000000 - toInt64(intDiv(number * ${SPAN_S}, ${ROWS})) * 1000000000 - (number % 1000) * 1000) AS ts,
  if(number % 50 = 0, 'ERROR', 'INFO'), if(number % 50 = 0, 17, 9),
  concat('svc', toString(number % 8)),
  if(number = ${Math.floor(ROWS * 0.8)}, 'payment gateway said needle-7f3a9c and gave up',
    arrayStringConcat(arrayMap(i -> multiIf(cityHash64(number, i) % 7 = 0, toString(cityHash64(number, i) % 100000),
      cityHash64(number, i) % 3 = 0, ['GET', 'POST', 'user', 'Order', 'cache', 'took', 'ms', 'status', 'Timeout', 'retry'][1 + cityHash64(number, i, 1) % 10],
      concat(['GET', 'POST', 'user', 'Order', 'cache', 'took', 'ms', 'status', 'Timeout', 'retry'][1 + cityHash64(number, i, 1) % 10], toString(cityHash64(number, i) % 500))), range(6 + number % 9)), ' ')),
  map('host.name', 'h1', 'container.name', concat('svc', toString(number % 8), '-', toString(number % ${CONTAINERS})), 'container.id', toString(number % ${CONTAINERS})),
  map('log.iostream', 'stdout')
FROM numbers(${ROWS})`;
}

const GRAFANA_OTEL = (fromMs: number, toMs: number) =>
  `SELECT Timestamp AS "timestamp", Body AS "body", SeverityText AS "level", LogAttributes AS "labels", TraceId AS "traceID" FROM "shiplog"."otel_logs" WHERE ( timestamp >= fromUnixTimestamp64Milli(${fromMs}) AND timestamp <= fromUnixTimestamp64Milli(${toMs}) ) ORDER BY timestamp DESC LIMIT 1000`;

/** Its logs-volume query for the same range (lines per minute by level). */
const GRAFANA_OTEL_VOLUME = (fromMs: number, toMs: number) =>
  `SELECT toStartOfInterval(Timestamp, INTERVAL 1 MINUTE) AS time, SeverityText AS level, count() AS c FROM "shiplog"."otel_logs" WHERE ( Timestamp >= fromUnixTimestamp64Milli(${fromMs}) AND Timestamp <= fromUnixTimestamp64Milli(${toMs}) ) GROUP BY time, level ORDER BY time`;

interface Figure {
  granulesRead: number;
  granulesInTable: number;
  medianMs: number;
  rows: number;
}

async function measure(store: ChdbStore, sql: string, params: QueryParams = {}): Promise<Figure> {
  const plan = (await store.query<{ explain: string }>(`EXPLAIN indexes = 1 ${sql}`, params)).map((r) => r.explain).join('\n');
  const [t] = await store.query<{ m: string }>("SELECT toString(sum(marks)) AS m FROM system.parts WHERE database = 'shiplog' AND table = 'otel_logs' AND active");
  const ms: number[] = [];
  let rows = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint();
    // A different comment each run: no cache answers it.
    rows = (await store.query(`${sql} /* run ${i} */`, params)).length;
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  return { granulesRead: Number(/Parts: \d+ \| Granules: (\d+)/.exec(plan)?.[1]), granulesInTable: Number(t?.m), medianMs: Number((ms[2] as number).toFixed(1)), rows };
}

/** The API's search over two days, as it builds the WHERE clause. */
async function apiSearch(store: ChdbStore, q: string, words: boolean, now: number): Promise<Figure> {
  const w = logFilters({ q, words, since: '48h' }, now);
  const f = await measure(store, `SELECT count() AS c FROM shiplog.otel_logs ${whereSql(w.conditions)}`, w.params);
  const [c] = await store.query<{ c: string }>(`SELECT toString(count()) AS c FROM shiplog.otel_logs ${whereSql(w.conditions)}`, w.params);
  return { ...f, rows: Number(c?.c) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-search-'));
  const store = new ChdbStore(join(dir, 'chdb'));
  const nowS = Math.floor(Date.now() / 1000);
  const hour = GRAFANA_OTEL((nowS - 3600) * 1000, nowS * 1000);
  const volume = GRAFANA_OTEL_VOLUME((nowS - 3600) * 1000, nowS * 1000);
  const out: Record<string, unknown> = { rows: ROWS, containers: CONTAINERS, spanHours: SPAN_S / 3600 };
  try {
    // The exporter's own table, as it creates it.
    await store.exec('CREATE DATABASE shiplog');
    await store.exec(readFileSync(join(root, 'test/fixtures/otel-clickhouse-exporter/logs_table.bloom.sql'), 'utf8').replace(/^--.*\n/gm, '').replace(/TTL .*\n/, ''));
    let t0 = Date.now();
    await store.exec(fillSql(nowS));
    await store.exec('OPTIMIZE TABLE shiplog.otel_logs FINAL');
    out.exporterLoadSeconds = Math.round((Date.now() - t0) / 1000);
    out.grafanaLastHourOnExporterTable = await measure(store, hour);
    out.grafanaVolumeLastHourOnExporterTable = await measure(store, volume);
    await store.exec('DROP DATABASE shiplog SYNC');

    // shiplog's table.
    await migrate(store, { database: 'shiplog', retentionDays: 30 }, createLogger('bench', 'silent'));
    t0 = Date.now();
    await store.exec(fillSql(nowS));
    await store.exec('OPTIMIZE TABLE shiplog.otel_logs FINAL');
    out.shiplogLoadSeconds = Math.round((Date.now() - t0) / 1000);
    out.grafanaLastHourOnShiplogTable = await measure(store, hour);
    out.grafanaVolumeLastHourOnShiplogTable = await measure(store, volume);
    const now = nowS * 1000 + 1000;
    out.needleSubstring = await apiSearch(store, 'needle', false, now);
    out.needleWords = await apiSearch(store, 'needle', true, now);
    out.commonWordSubstring = await apiSearch(store, 'Timeout', false, now);
    out.commonWordWords = await apiSearch(store, 'timeout', true, now);
    saveResult('search-layout', out);
    const row = (f: unknown) => {
      const x = f as Figure;
      return { 'granules read': x.granulesRead, 'of granules': x.granulesInTable, 'median ms': x.medianMs, rows: x.rows };
    };
    console.table({
      'Grafana OTel default query, last hour of 48: exporter v0.165 table': row(out.grafanaLastHourOnExporterTable),
      "... on shiplog's table": row(out.grafanaLastHourOnShiplogTable),
      'Grafana OTel logs volume (per minute and level), last hour: exporter table': row(out.grafanaVolumeLastHourOnExporterTable),
      "... on shiplog's table ": row(out.grafanaVolumeLastHourOnShiplogTable),
      'API q=needle (substring, LIKE), 48 h': row(out.needleSubstring),
      'API q=needle&words=true (token index), 48 h': row(out.needleWords),
      'API q=Timeout (substring), 48 h': row(out.commonWordSubstring),
      'API q=timeout&words=true, 48 h': row(out.commonWordWords),
    });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
