/**
 * otel_logs against the OpenTelemetry ClickHouse exporter (v0.165.0) and Grafana's OTel mode, on
 * the real engine (chDB):
 *  - shiplog starts on a database the exporter created first (its own DDL, both index variants),
 *    writes into it and reads its rows back through the API; the exporter's INSERT goes into a
 *    table shiplog created;
 *  - Grafana's default OTel logs query (a Timestamp range, newest first) prunes on shiplog's
 *    table and on a table of the layout shiplog had before (keyed on TimestampTime), by granules;
 *  - the API's word search matches what a reference tokenizer says, over random lines, and reads
 *    through the token index.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogRecord } from '../../../agent/ship/record.js';
import { build } from '../../../collector/http/app.js';
import { RowEncoder } from '../../../collector/ingest/encode-rows.js';
import { wordsOf } from '../../../collector/query/filters.js';
import { ChdbStore } from '../../../collector/store/chdb-store.js';
import { migrate } from '../../../collector/store/migrate.js';
import { LOG_INSERT_COLUMNS, MIGRATIONS } from '../../../collector/store/schema.js';
import { createLogger } from '../../../lib/logger.js';
import { tempDir } from '../../helpers/agent-process.js';

const FIXTURES = resolve(import.meta.dirname, '../../fixtures/otel-clickhouse-exporter');
const log = createLogger('test', 'silent');
const LATEST = MIGRATIONS[MIGRATIONS.length - 1]?.version;
const dir = tempDir('shiplog-otel-');
let shared: ChdbStore | undefined;
const apps: FastifyInstance[] = [];

/** The exporter's INSERT (logs_insert.sql of v0.165.0: 15 columns, EventName when the table has it). */
const EXPORTER_INSERT = `INSERT INTO shiplog.otel_logs (Timestamp, TraceId, SpanId, TraceFlags, SeverityText, SeverityNumber, ServiceName, Body,
  ResourceSchemaUrl, ResourceAttributes, ScopeSchemaUrl, ScopeName, ScopeVersion, ScopeAttributes, LogAttributes, EventName)`;

function exporterRow(tsNs: bigint, body: string): string {
  const ts = `fromUnixTimestamp64Nano(${tsNs})`;
  return `(${ts}, '0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331', 1, 'ERROR', 17, 'checkout', '${body.replace(/'/g, "''")}',
    '', map('host.name', 'otel-host', 'container.name', 'checkout-1', 'container.id', 'cafe'), '', 'otelcol', '0.165.0', map(), map('log.iostream', 'stderr'), '')`;
}

function record(host: string, name: string, lines: LogRecord['lines']): LogRecord {
  return { v: 1, type: 'logs', host, container: { id: name.padEnd(64, '0'), name, image: 'img:1', labels: {} }, lines, cursor: {} };
}

/** The store with no shiplog database in it (one embedded engine per process: each test starts over). */
async function open(): Promise<ChdbStore> {
  shared ??= new ChdbStore(`${dir.dir}/chdb`);
  await shared.exec('DROP DATABASE IF EXISTS shiplog SYNC');
  return shared;
}

function api(store: ChdbStore): FastifyInstance {
  const app = build({ registry: new Registry(), store, status: () => ({ consuming: true, storage: 'up', storageKind: 'chdb' }) });
  apps.push(app);
  return app;
}

async function logs(app: FastifyInstance, query: string): Promise<{ message: string; container_name: string; host: string }[]> {
  const r = await app.inject({ method: 'GET', url: `/api/v1/logs?limit=10000&${query}` });
  expect(r.statusCode, r.body).toBe(200);
  return (r.json() as { data: { message: string; container_name: string; host: string }[] }).data;
}

/** Granules read of a query's plan, and of the table, after partition, key and skip-index pruning. */
async function granules(store: ChdbStore, sql: string): Promise<{ read: number; total: number; plan: string }> {
  const plan = (await store.query<{ explain: string }>(`EXPLAIN indexes = 1 ${sql}`)).map((r) => r.explain).join('\n');
  const read = Number(/Parts: \d+ \| Granules: (\d+)/.exec(plan)?.[1] ?? NaN);
  const [t] = await store.query<{ m: string }>("SELECT toString(sum(marks)) AS m FROM system.parts WHERE database = 'shiplog' AND table = 'otel_logs' AND active");
  return { read, total: Number(t?.m), plan };
}

/** Grafana's ClickHouse plugin, OTel mode, default logs query for a time range (its macros expanded). */
const grafanaOtelQuery = (fromMs: number, toMs: number) =>
  `SELECT Timestamp AS "timestamp", Body AS "body", SeverityText AS "level", LogAttributes AS "labels", TraceId AS "traceID" FROM "shiplog"."otel_logs" WHERE ( timestamp >= fromUnixTimestamp64Milli(${fromMs}) AND timestamp <= fromUnixTimestamp64Milli(${toMs}) ) ORDER BY timestamp DESC LIMIT 1000`;

/** 4 containers × 48 h, a line a second each, made by the engine (the layout is what is measured here). */
async function fill(store: ChdbStore, nowMs: number): Promise<void> {
  await store.exec(`INSERT INTO shiplog.otel_logs (Timestamp, ServiceName, Body, ResourceAttributes, LogAttributes)
    SELECT fromUnixTimestamp64Milli(toInt64(${nowMs} - intDiv(number, 4) * 1000 - (number % 4) * 7)) AS ts, concat('svc', toString(number % 4)),
      concat('GET /api/items/', toString(number % 977), ' 200'), map('host.name', 'h1', 'container.name', concat('svc', toString(number % 4), '-1')), map('log.iostream', 'stdout')
    FROM numbers(${4 * 48 * 3600})`);
  await store.exec('OPTIMIZE TABLE shiplog.otel_logs FINAL');
}

afterAll(async () => {
  for (const a of apps) await a.close();
  await shared?.close();
  dir.cleanup();
});

describe('the OpenTelemetry exporter\'s own tables', () => {
  it.each(['bloom', 'text'])('shiplog starts on a database the exporter created (%s indexes), stores and reads through it', async (variant) => {
    const store = await open();
    await store.exec('CREATE DATABASE shiplog');
    const ddl = readFileSync(`${FIXTURES}/logs_table.${variant}.sql`, 'utf8').replace(/^--.*\n/gm, '');
    await store.exec(ddl);
    const now = BigInt(Date.now()) * 1_000_000n;
    await store.exec(`${EXPORTER_INSERT} VALUES ${exporterRow(now - 5_000_000_000n, "exporter's row: payment Declined")}`);

    expect(await migrate(store, { database: 'shiplog', retentionDays: 3 }, log)).toBe(LATEST);
    const [t] = await store.query<{ sorting_key: string }>("SELECT sorting_key FROM system.tables WHERE database = 'shiplog' AND name = 'otel_logs'");
    expect(t?.sorting_key).toBe('toStartOfFiveMinutes(Timestamp), ServiceName, Timestamp');

    const enc = new RowEncoder();
    enc.add(record('h1', 'web-1', [{ ts: new Date(Date.now() - 1000).toISOString(), stream: 'stdout', msg: "shiplog's row: payment declined" }]), { topic: 'shiplog.logs', partition: 0, offset: '7' });
    await store.insertTsv('otel_logs', LOG_INSERT_COLUMNS, enc.take(), 'one');

    const app = api(store);
    const both = await logs(app, 'q=payment');
    expect(both.map((l) => l.message).sort()).toEqual(["exporter's row: payment Declined", "shiplog's row: payment declined"]);
    // The exporter's row through shiplog's columns (materialized from its attributes on read).
    expect((await logs(app, 'host=otel-host')).map((l) => l.container_name)).toEqual(['checkout-1']);
    expect((await logs(app, 'q=DECLINED&words=true')).length).toBe(2);
    // Restarting on it changes nothing; shiplog's exactly-once bookkeeping sees its own row.
    expect(await migrate(store, { database: 'shiplog', retentionDays: 3 }, log)).toBe(LATEST);
    const [k] = await store.query<{ o: string }>("SELECT toString(max(KafkaOffset)) AS o FROM shiplog.otel_logs WHERE KafkaTopic = 'shiplog.logs'");
    expect(k?.o).toBe('7');
  });

  it('the exporter writes into a table shiplog created, and shiplog reads its rows', async () => {
    const store = await open();
    await migrate(store, { database: 'shiplog', retentionDays: 30 }, log);
    await store.exec(`${EXPORTER_INSERT} VALUES ${exporterRow(BigInt(Date.now()) * 1_000_000n, 'from the exporter')}`);
    const got = await logs(api(store), 'container=checkout-1');
    expect(got.map((l) => [l.message, l.host])).toEqual([['from the exporter', 'otel-host']]);
  });
});

describe("Grafana's OTel-mode query prunes", () => {
  const now = Math.floor(Date.now() / 1000) * 1000;

  it('on shiplog\'s table (keyed on Timestamp): an hour of 48 reads a few granules per container', async () => {
    const store = await open();
    await migrate(store, { database: 'shiplog', retentionDays: 30 }, log);
    await fill(store, now);
    const g = await granules(store, grafanaOtelQuery(now - 3_600_000, now));
    expect(g.total).toBeGreaterThan(50);
    // 4 containers, each with its own key range: one or two granules each, of the day's part.
    expect(g.read).toBeLessThan(g.total / 5);
    // By the sorting key itself, before any skip index.
    const byKey = /PrimaryKey[\s\S]*?Granules: (\d+)\/(\d+)/.exec(g.plan);
    expect(Number(byKey?.[1])).toBeLessThan(g.total / 5);
    expect(((await store.query(grafanaOtelQuery(now - 3_600_000, now))) as unknown[]).length).toBe(1000);
  });

  it('on a table of the layout before (keyed on TimestampTime) once migration 5 has run', async () => {
    const store = await open();
    await store.exec('CREATE DATABASE shiplog');
    // The logs table as migration 1 made it until 2026-11-26 (the columns that matter here).
    await store.exec(`CREATE TABLE shiplog.otel_logs (
  Timestamp DateTime64(9), TimestampTime DateTime DEFAULT toDateTime(Timestamp), TraceId String, SpanId String, TraceFlags UInt8,
  SeverityText LowCardinality(String), SeverityNumber UInt8, ServiceName LowCardinality(String), Body String,
  ResourceSchemaUrl LowCardinality(String), ResourceAttributes Map(LowCardinality(String), String), ScopeSchemaUrl LowCardinality(String),
  ScopeName String, ScopeVersion LowCardinality(String), ScopeAttributes Map(LowCardinality(String), String),
  LogAttributes Map(LowCardinality(String), String), EventName String,
  HostName LowCardinality(String) MATERIALIZED ResourceAttributes['host.name'],
  ContainerName LowCardinality(String) MATERIALIZED ResourceAttributes['container.name'],
  ContainerId String MATERIALIZED ResourceAttributes['container.id'], Stream LowCardinality(String) MATERIALIZED LogAttributes['log.iostream'],
  KafkaTopic LowCardinality(String), KafkaPartition UInt32, KafkaOffset UInt64, RecordLine UInt32
) ENGINE = MergeTree PARTITION BY toDate(TimestampTime) PRIMARY KEY (ServiceName, ContainerName, TimestampTime)
ORDER BY (ServiceName, ContainerName, TimestampTime, Timestamp)`);
    await fill(store, now);
    // Before: its partitions are days of TimestampTime, which a Timestamp range prunes only partly.
    const before = await granules(store, grafanaOtelQuery(now - 3_600_000, now));
    await migrate(store, { database: 'shiplog', retentionDays: 30 }, log);
    // The index is built by a mutation; the engine here runs it before the next statement returns or soon after.
    await store.exec('OPTIMIZE TABLE shiplog.otel_logs FINAL');
    const after = await granules(store, grafanaOtelQuery(now - 3_600_000, now));
    expect(after.plan).toContain('idx_ts');
    expect(after.read).toBeLessThan(after.total / 5);
    expect(after.read).toBeLessThan(before.read / 2);
  });
});

describe('word search', () => {
  let store: ChdbStore;
  let app: FastifyInstance;
  const VOCAB = ['Timeout', 'timeout', 'TIMEOUT', 'db', 'DB-7', 'refused', 'conn_refused', 'naïve', '日本', 'x', '42', 'GET', '/api/v1', "it's", 'ok.', 'a\tb', 'e\u0301'];
  const line = fc.array(fc.constantFrom(...VOCAB, ' ', ': ', ',', '=', '"'), { minLength: 1, maxLength: 8 }).map((a) => a.join(''));

  beforeAll(async () => {
    store = await open();
    await migrate(store, { database: 'shiplog', retentionDays: 30 }, log);
    app = api(store);
  });

  it('finds exactly the lines that have every word of the query, in any ASCII case (property, against a reference)', async () => {
    const lines = fc.sample(line, 400);
    const enc = new RowEncoder();
    const t0 = Date.now() - 60_000;
    enc.add(record('h1', 'words-1', lines.map((msg, i) => ({ ts: new Date(t0 + i).toISOString(), stream: 'stdout' as const, msg }))), { topic: 't', partition: 0, offset: '1' });
    await store.insertTsv('otel_logs', LOG_INSERT_COLUMNS, enc.take(), 'words');
    const stored = await logs(app, 'container=words-1');
    expect(stored.length).toBe(lines.length);
    // Reference: the line's words (split as the engine's token index splits bytes) hold every query word.
    const has = (msg: string, q: string) => {
      const words = new Set(wordsOf(msg));
      return wordsOf(q).every((w) => words.has(w));
    };
    await fc.assert(
      fc.asyncProperty(line, async (q) => {
        fc.pre(wordsOf(q).length > 0);
        const got = (await logs(app, `container=words-1&words=true&q=${encodeURIComponent(q)}`)).map((l) => l.message).sort();
        expect(got).toEqual(lines.filter((m) => has(m, q)).sort());
      }),
      { numRuns: 60 },
    );
  });

  it('goes through the token index, and says what it cannot take', async () => {
    const plan = (await store.query<{ explain: string }>("EXPLAIN indexes = 1 SELECT count() FROM shiplog.otel_logs WHERE hasToken(lower(Body), 'timeout')")).map((r) => r.explain).join('\n');
    expect(plan).toContain('idx_lower_body');
    const bad = async (query: string) => {
      const r = await app.inject({ method: 'GET', url: `/api/v1/logs?${query}` });
      return [r.statusCode, (r.json() as { message: string }).message];
    };
    expect(await bad('words=true&q=%21%21%21')).toEqual([400, expect.stringContaining('has no word')]);
    expect(await bad('words=true&regex=true&q=a')).toEqual([400, expect.stringContaining('words')]);
    expect(await bad(`words=true&q=${Array.from({ length: 17 }, (_, i) => `w${i}`).join('+')}`)).toEqual([400, expect.stringContaining('at most 16')]);
  });
});
