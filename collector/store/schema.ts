/**
 * The one place the DDL lives. Both backends (embedded chDB and a ClickHouse server) run
 * exactly these statements; only the engine clause differs for a replicated cluster.
 *
 * Logs use the OpenTelemetry ClickHouse exporter's `otel_logs` layout, so Grafana's
 * ClickHouse plugin (OTel mode) reads it as is, plus a few columns of our own:
 *  - HostName, ContainerName, ContainerId, Stream: materialized from the attribute maps, for
 *    filters that read one small column instead of a map;
 *  - KafkaTopic/KafkaPartition/KafkaOffset: where a row came from, so a collector that takes
 *    over a partition knows exactly what is stored already (exactly-once across crashes);
 *    with RecordLine (the line's place in its record) they name one line, which is what the
 *    query API's cursors rest on.
 *
 * Codecs: ZSTD(3) on the attribute maps (repetitive per container: 2x smaller than ZSTD(1) for
 * the same insert rate, see bench/), ZSTD(1) elsewhere.
 *
 * Keyed on Timestamp, as the exporter is since v0.152 (no TimestampTime in its layout): daily
 * partitions of toDate(Timestamp), sorting key (ServiceName, ContainerName, Timestamp). A time
 * range on Timestamp alone (Grafana's OTel mode) prunes partitions and, within them, reads about
 * one granule range per container; "one container, last hour" reads a narrow key range. The
 * exporter sorts on toStartOfFiveMinutes(Timestamp) first, which the engine (26.7) does not use to
 * prune a Timestamp range within a day (bench/collector-store.ts measures both). TimestampTime
 * stays as a DEFAULT column for queries written for the older layout.
 *
 * Databases made by shiplog before that (partitioned on TimestampTime) keep their key: a minmax
 * index on Timestamp (migration 5) makes the same queries skip what they do not need.
 * A table the exporter created first gets shiplog's columns and indexes added (migration 1).
 *
 * Text: a token bloom filter on Body (case-sensitive hasToken, LIKE with whole words) and one on
 * lower(Body) (the API's word search, case-insensitive), as the exporter has.
 */

export interface SchemaOptions {
  database: string;
  retentionDays: number;
  /** ON CLUSTER name for a ClickHouse cluster (DDL runs on every node). */
  cluster?: string;
  /** ReplicatedMergeTree tables plus a Distributed table (cluster mode). */
  replicated?: boolean;
}

export interface Migration {
  version: number;
  description: string;
  statements: (o: SchemaOptions) => string[];
}

export const LOGS_TABLE = 'otel_logs';
export const STATS_TABLE = 'container_stats';
export const EVENTS_TABLE = 'container_events';

const q = (name: string) => `\`${name.replace(/`/g, '``')}\``;
const onCluster = (o: SchemaOptions) => (o.cluster ? ` ON CLUSTER ${q(o.cluster)}` : '');

function logsEngine(o: SchemaOptions, table: string): string {
  return o.replicated
    ? `ReplicatedMergeTree('/clickhouse/tables/{shard}/${o.database}/${table}', '{replica}')`
    : 'MergeTree';
}

/** The local (per-node) logs table: in cluster mode the Distributed table in front of it keeps the plain name. */
export function logsLocalTable(o: SchemaOptions): string {
  return o.replicated ? `${LOGS_TABLE}_local` : LOGS_TABLE;
}

/** The logs table's retention runs on this (the exporter's own TTL expression). */
const LOGS_TTL_TIME = 'toDateTime(Timestamp)';

/** TimestampTime: what the layout before keyed on, kept for queries written for it. */
const TIMESTAMP_TIME_COLUMN = 'TimestampTime DateTime DEFAULT toDateTime(Timestamp) CODEC(Delta(4), ZSTD(1))';

/** The columns after the exporter's own ones, as CREATE and ADD COLUMN take them (older exporters lack EventName). */
const TRAILING_LOG_COLUMNS = [
  'EventName String CODEC(ZSTD(1))',
  "HostName LowCardinality(String) MATERIALIZED ResourceAttributes['host.name']",
  "ContainerName LowCardinality(String) MATERIALIZED ResourceAttributes['container.name']",
  "ContainerId String MATERIALIZED ResourceAttributes['container.id'] CODEC(ZSTD(1))",
  "Stream LowCardinality(String) MATERIALIZED LogAttributes['log.iostream']",
  'KafkaTopic LowCardinality(String) CODEC(ZSTD(1))',
  'KafkaPartition UInt32 CODEC(ZSTD(1))',
  'KafkaOffset UInt64 CODEC(Delta(8), ZSTD(1))',
];

/** Columns of shiplog's own in otel_logs, as ADD COLUMN takes them (the exporter's table lacks them). */
const OWN_LOG_COLUMNS = [TIMESTAMP_TIME_COLUMN, ...TRAILING_LOG_COLUMNS];

const OWN_LOG_INDEXES = [
  'idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1',
  'idx_host HostName TYPE set(256) GRANULARITY 4',
  'idx_severity SeverityNumber TYPE minmax GRANULARITY 4',
  'idx_kafka (KafkaPartition, KafkaOffset) TYPE minmax GRANULARITY 1',
];

/** Word search (the API's words=true), as the exporter indexes it. */
const LOWER_BODY_INDEX = 'idx_lower_body lower(Body) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8';

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'otel_logs table',
    statements: (o) => {
      const local = logsLocalTable(o);
      const stmts = [
        `CREATE TABLE IF NOT EXISTS ${q(o.database)}.${q(local)}${onCluster(o)} (
  Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
  ${TIMESTAMP_TIME_COLUMN},
  TraceId String CODEC(ZSTD(1)),
  SpanId String CODEC(ZSTD(1)),
  TraceFlags UInt8,
  SeverityText LowCardinality(String) CODEC(ZSTD(1)),
  SeverityNumber UInt8,
  ServiceName LowCardinality(String) CODEC(ZSTD(1)),
  Body String CODEC(ZSTD(1)),
  ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
  ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(3)),
  ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
  ScopeName String CODEC(ZSTD(1)),
  ScopeVersion LowCardinality(String) CODEC(ZSTD(1)),
  ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(3)),
  LogAttributes Map(LowCardinality(String), String) CODEC(ZSTD(3)),
  ${TRAILING_LOG_COLUMNS.join(',\n  ')},
  INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
  INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  ${[...OWN_LOG_INDEXES, LOWER_BODY_INDEX].map((x) => `INDEX ${x}`).join(',\n  ')}
) ENGINE = ${logsEngine(o, local)}
PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, ContainerName, Timestamp)
TTL ${LOGS_TTL_TIME} + toIntervalDay(${Math.trunc(o.retentionDays)})
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1${o.replicated ? '' : ', non_replicated_deduplication_window = 10000'}`,
        // A table the OpenTelemetry exporter created first (CREATE above did nothing): shiplog's
        // own columns and indexes join the exporter's; its key and rows stay as they are.
        ...OWN_LOG_COLUMNS.map((c) => `ALTER TABLE ${q(o.database)}.${q(local)}${onCluster(o)} ADD COLUMN IF NOT EXISTS ${c}`),
        ...OWN_LOG_INDEXES.map((i) => `ALTER TABLE ${q(o.database)}.${q(local)}${onCluster(o)} ADD INDEX IF NOT EXISTS ${i}`),
      ];
      if (o.replicated) {
        stmts.push(
          `CREATE TABLE IF NOT EXISTS ${q(o.database)}.${q(LOGS_TABLE)}${onCluster(o)} AS ${q(o.database)}.${q(local)} ENGINE = Distributed(${q(o.cluster ?? 'default')}, ${q(o.database)}, ${q(local)}, cityHash64(ContainerId))`,
        );
      }
      return stmts;
    },
  },
];

MIGRATIONS.push({
  version: 2,
  description: 'container_stats and container_events tables',
  statements: (o) => [
    `CREATE TABLE IF NOT EXISTS ${q(o.database)}.${q(STATS_TABLE)}${onCluster(o)} (
  Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
  TimestampTime DateTime DEFAULT toDateTime(Timestamp) CODEC(Delta(4), ZSTD(1)),
  HostName LowCardinality(String),
  ContainerId String CODEC(ZSTD(1)),
  ContainerName LowCardinality(String),
  Image LowCardinality(String),
  Labels Map(LowCardinality(String), String) CODEC(ZSTD(3)),
  StartedAt String CODEC(ZSTD(1)),
  CpuTotalNs UInt64 CODEC(DoubleDelta, ZSTD(1)),
  CpuUserNs UInt64 CODEC(DoubleDelta, ZSTD(1)),
  CpuSystemNs UInt64 CODEC(DoubleDelta, ZSTD(1)),
  CpuPeriods UInt64 CODEC(DoubleDelta, ZSTD(1)),
  CpuThrottledPeriods UInt64 CODEC(DoubleDelta, ZSTD(1)),
  CpuThrottledNs UInt64 CODEC(DoubleDelta, ZSTD(1)),
  MemUsage UInt64 CODEC(ZSTD(1)),
  MemWorkingSet UInt64 CODEC(ZSTD(1)),
  MemRss UInt64 CODEC(ZSTD(1)),
  MemCache UInt64 CODEC(ZSTD(1)),
  MemLimit UInt64 CODEC(ZSTD(1)),
  BlkReadBytes UInt64 CODEC(DoubleDelta, ZSTD(1)),
  BlkWriteBytes UInt64 CODEC(DoubleDelta, ZSTD(1)),
  Pids UInt32 CODEC(ZSTD(1)),
  Networks String CODEC(ZSTD(3)),
  KafkaTopic LowCardinality(String),
  KafkaPartition UInt32,
  KafkaOffset UInt64 CODEC(Delta(8), ZSTD(1))
) ENGINE = ${o.replicated ? `ReplicatedMergeTree('/clickhouse/tables/{shard}/${o.database}/${STATS_TABLE}', '{replica}')` : 'MergeTree'}
PARTITION BY toDate(TimestampTime)
ORDER BY (HostName, ContainerName, TimestampTime)
TTL TimestampTime + toIntervalDay(${Math.trunc(o.retentionDays)})
SETTINGS ttl_only_drop_parts = 1${o.replicated ? '' : ', non_replicated_deduplication_window = 10000'}`,
    `CREATE TABLE IF NOT EXISTS ${q(o.database)}.${q(EVENTS_TABLE)}${onCluster(o)} (
  Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
  TimestampTime DateTime DEFAULT toDateTime(Timestamp),
  HostName LowCardinality(String),
  ContainerId String CODEC(ZSTD(1)),
  ContainerName LowCardinality(String),
  Image LowCardinality(String),
  Action LowCardinality(String),
  ExitCode Int32 DEFAULT -1,
  Health LowCardinality(String),
  OldName String,
  Attributes Map(LowCardinality(String), String) CODEC(ZSTD(3)),
  KafkaTopic LowCardinality(String),
  KafkaPartition UInt32,
  KafkaOffset UInt64
) ENGINE = ${o.replicated ? `ReplicatedMergeTree('/clickhouse/tables/{shard}/${o.database}/${EVENTS_TABLE}', '{replica}')` : 'MergeTree'}
PARTITION BY toYYYYMM(TimestampTime)
ORDER BY (HostName, ContainerName, TimestampTime)
TTL TimestampTime + toIntervalDay(${Math.trunc(o.retentionDays)})
SETTINGS ttl_only_drop_parts = 1${o.replicated ? '' : ', non_replicated_deduplication_window = 10000'}`,
  ],
});

MIGRATIONS.push({
  version: 3,
  description: 'otel_logs.RecordLine: a line\'s place in its record, so (KafkaTopic, KafkaPartition, KafkaOffset, RecordLine) names one line',
  statements: (o) => {
    const tables = o.replicated ? [logsLocalTable(o), LOGS_TABLE] : [LOGS_TABLE];
    return tables.map((t) => `ALTER TABLE ${q(o.database)}.${q(t)}${onCluster(o)} ADD COLUMN IF NOT EXISTS RecordLine UInt32 CODEC(Delta(4), ZSTD(1)) AFTER KafkaOffset`);
  },
});

export const DEAD_LETTERS_TABLE = 'dead_letters';

MIGRATIONS.push({
  version: 4,
  description: 'dead_letters: records the store or the encoder refused in shiplog up (Kafka mode has the <prefix>.dlq topic)',
  statements: (o) => [
    `CREATE TABLE IF NOT EXISTS ${q(o.database)}.${q(DEAD_LETTERS_TABLE)}${onCluster(o)} (
  Timestamp DateTime64(3) DEFAULT now64(3),
  Source LowCardinality(String),
  Partition UInt32,
  Offset String,
  Reason LowCardinality(String),
  Detail String,
  RecordKey String,
  Record String CODEC(ZSTD(3))
) ENGINE = ${o.replicated ? `ReplicatedMergeTree('/clickhouse/tables/{shard}/${o.database}/${DEAD_LETTERS_TABLE}', '{replica}')` : 'MergeTree'}
ORDER BY Timestamp
TTL toDateTime(Timestamp) + toIntervalDay(${Math.trunc(o.retentionDays)})`,
  ],
});

MIGRATIONS.push({
  version: 5,
  description: 'otel_logs: a minmax index on Timestamp (a table keyed on TimestampTime skips granules for a Timestamp range, as Grafana\'s OTel mode asks) and a token index on lower(Body) (word search)',
  statements: (o) => {
    const t = `${q(o.database)}.${q(logsLocalTable(o))}${onCluster(o)}`;
    return [
      `ALTER TABLE ${t} ADD INDEX IF NOT EXISTS idx_ts Timestamp TYPE minmax GRANULARITY 1`,
      `ALTER TABLE ${t} ADD INDEX IF NOT EXISTS ${LOWER_BODY_INDEX}`,
      // Parts written before: built in the background (a mutation), queries meanwhile read them whole.
      `ALTER TABLE ${t} MATERIALIZE INDEX idx_ts`,
      `ALTER TABLE ${t} MATERIALIZE INDEX idx_lower_body`,
    ];
  },
});

export const DEAD_LETTERS_INSERT_COLUMNS = ['Source', 'Partition', 'Offset', 'Reason', 'Detail', 'RecordKey', 'Record'] as const;

export const STATS_INSERT_COLUMNS = [
  'Timestamp', 'HostName', 'ContainerId', 'ContainerName', 'Image', 'Labels', 'StartedAt',
  'CpuTotalNs', 'CpuUserNs', 'CpuSystemNs', 'CpuPeriods', 'CpuThrottledPeriods', 'CpuThrottledNs',
  'MemUsage', 'MemWorkingSet', 'MemRss', 'MemCache', 'MemLimit', 'BlkReadBytes', 'BlkWriteBytes', 'Pids', 'Networks',
  'KafkaTopic', 'KafkaPartition', 'KafkaOffset',
] as const;

export const EVENTS_INSERT_COLUMNS = [
  'Timestamp', 'HostName', 'ContainerId', 'ContainerName', 'Image', 'Action', 'ExitCode', 'Health', 'OldName', 'Attributes',
  'KafkaTopic', 'KafkaPartition', 'KafkaOffset',
] as const;

/** The tables whose TTL follows SHIPLOG_RETENTION_DAYS. */
export function retainedTables(o: SchemaOptions): string[] {
  return [logsLocalTable(o), STATS_TABLE, EVENTS_TABLE];
}

/** The statement that brings a table's TTL to the configured retention (idempotent). */
export function retentionStatement(o: SchemaOptions, table = logsLocalTable(o)): string {
  const time = table === logsLocalTable(o) ? LOGS_TTL_TIME : 'TimestampTime';
  return `ALTER TABLE ${q(o.database)}.${q(table)}${onCluster(o)} MODIFY TTL ${time} + toIntervalDay(${Math.trunc(o.retentionDays)}) SETTINGS materialize_ttl_after_modify = 0`;
}

export function bootstrapStatements(o: SchemaOptions): string[] {
  return [
    `CREATE DATABASE IF NOT EXISTS ${q(o.database)}${onCluster(o)}`,
    `CREATE TABLE IF NOT EXISTS ${q(o.database)}.shiplog_schema_migrations${onCluster(o)} (version UInt32, description String, applied_at DateTime DEFAULT now()) ENGINE = ${o.replicated ? `ReplicatedMergeTree('/clickhouse/tables/{shard}/${o.database}/shiplog_schema_migrations', '{replica}')` : 'MergeTree'} ORDER BY version`,
  ];
}

/** Columns written by the collector's insert, in the order of encode-rows.ts. */
export const LOG_INSERT_COLUMNS = [
  'Timestamp',
  'SeverityText',
  'SeverityNumber',
  'ServiceName',
  'Body',
  'ResourceAttributes',
  'LogAttributes',
  'KafkaTopic',
  'KafkaPartition',
  'KafkaOffset',
  'RecordLine',
] as const;

/** SQL for a DateTime64(9) column as RFC 3339 UTC with all nine fractional digits, as Docker writes times. */
export function rfc3339NanoSql(col: string): string {
  return `concat(formatDateTime(${col}, '%Y-%m-%dT%H:%i:%S', 'UTC'), '.', leftPad(toString(toUnixTimestamp64Nano(${col}) % 1000000000), 9, '0'), 'Z')`;
}

export function quoteIdent(name: string): string {
  return q(name);
}
