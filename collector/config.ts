/** The collector's settings: one schema, validated once at start-up, every problem at once. */
import { resolve } from 'node:path';
import { EnvReader, checkHostPortList, type Env } from '../lib/env-config.js';
import { KAFKA_SECURITY_SETTINGS, readKafkaSecurity, type KafkaSecurity } from '../lib/kafka-security.js';
import { checkTls, readPem } from '../lib/tls.js';

export interface CollectorConfig {
  kafka: { brokers: string[]; topicPrefix: string; groupId: string; security: KafkaSecurity };
  storage:
    | { kind: 'chdb'; path: string; database: string }
    | { kind: 'clickhouse'; url: string; username?: string; password?: string; database: string; cluster?: string; tlsCa?: string };
  retentionDays: number;
  http: { address: string; port: number };
  api: { token?: string; queryTimeoutMs: number; maxResultBytes: number; maxQueries: number; maxTailClients: number; tailBufferBytes: number };
  batchBytes: number;
  batchWaitMs: number;
  maxRecordBytes: number;
  concurrency: number;
  sessionTimeoutMs: number;
  containerTtlMs: number;
  containerLabels: string[];
  dlqMaxMessageBytes: number;
  logLevel: string;
  logFormat: 'auto' | 'json' | 'text';
  /** SHIPLOG_STOP_TIMEOUT: the longest a clean stop may take. */
  stopTimeoutMs: number;
  faultKillAfterInserts: number;
  /** Test-only fault injection (shiplog up): records containing this text are encoded as rows the store refuses. */
  faultUnstorableText: string;
  /** Test-only fault injection (shiplog up): while this file exists, every store write fails as unavailable. */
  faultStoreDownFile: string;
  /** Test-only fault injection: the first N log batches crash the consumer. */
  faultCrashBatches: number;
}

export const COLLECTOR_SETTINGS: { name: string; default: string; help: string }[] = [
  { name: 'SHIPLOG_KAFKA_BROKERS', default: '(required for shiplog collector)', help: 'Comma-separated host:port list.' },
  { name: 'SHIPLOG_KAFKA_TOPIC_PREFIX', default: 'shiplog', help: 'Reads <prefix>.logs; rejected records go to <prefix>.dlq.' },
  { name: 'SHIPLOG_COLLECTOR_GROUP', default: 'shiplog-collector', help: 'Kafka consumer group; collectors in one group share the partitions.' },
  ...KAFKA_SECURITY_SETTINGS,
  { name: 'SHIPLOG_CLICKHOUSE_URL', default: '(unset: embedded chDB)', help: 'ClickHouse server HTTP(S) URL, e.g. http://user:pass@ch:8123. Unset: the embedded engine under SHIPLOG_DATA_DIR/chdb.' },
  { name: 'SHIPLOG_CLICKHOUSE_USER', default: '(from the URL)', help: 'ClickHouse user (overrides the URL\'s).' },
  { name: 'SHIPLOG_CLICKHOUSE_PASSWORD', default: '(from the URL)', help: 'ClickHouse password (overrides the URL\'s).' },
  { name: 'SHIPLOG_CLICKHOUSE_TLS_CA', default: "(Node's CA list)", help: 'PEM file of the CA that signed the server\'s certificate, for an https:// SHIPLOG_CLICKHOUSE_URL with a private CA.' },
  { name: 'SHIPLOG_CLICKHOUSE_DATABASE', default: 'shiplog', help: 'Database for shiplog\'s tables (created if missing).' },
  { name: 'SHIPLOG_CLICKHOUSE_CLUSTER', default: '', help: 'Cluster name: DDL runs ON CLUSTER with ReplicatedMergeTree tables behind a Distributed table.' },
  { name: 'SHIPLOG_DATA_DIR', default: './data', help: 'Embedded storage lives in <dir>/chdb.' },
  { name: 'SHIPLOG_RETENTION_DAYS', default: '30', help: 'Rows older than this are dropped (TTL, whole daily parts).' },
  { name: 'SHIPLOG_HTTP_ADDRESS', default: '0.0.0.0 (shiplog up: 127.0.0.1)', help: 'Address of the HTTP server. A non-loopback address needs SHIPLOG_API_TOKEN (or SHIPLOG_API_ALLOW_OPEN=true).' },
  { name: 'SHIPLOG_HTTP_PORT', default: '9880', help: 'Port of /metrics, /healthz, /readyz, /api/v1 (0 = any free port).' },
  { name: 'SHIPLOG_API_TOKEN', default: '(unset)', help: 'Bearer token required on /api/* and the web page (compared in constant time). /metrics, /healthz, /readyz and /openapi.json stay open.' },
  { name: 'SHIPLOG_API_ALLOW_OPEN', default: 'false', help: 'true: serve the API without a token on a non-loopback SHIPLOG_HTTP_ADDRESS (container logs often hold secrets; say so on purpose).' },
  { name: 'SHIPLOG_API_QUERY_TIMEOUT', default: '10s', help: 'A log query running longer is stopped by the engine and answered with a 503 query_timeout.' },
  { name: 'SHIPLOG_API_MAX_RESULT_BYTES', default: '16MiB', help: 'Most line text in one /api/v1/logs page; a page ends early (with next_cursor) when the next line would pass it.' },
  { name: 'SHIPLOG_API_MAX_QUERIES', default: '4', help: 'Store queries the API runs at once (live tails included); more wait up to 2 s, then get 429 with Retry-After.' },
  { name: 'SHIPLOG_API_MAX_TAIL_CLIENTS', default: '100', help: 'Live tail streams at once (clients with the same filters share one poll); more get 429.' },
  { name: 'SHIPLOG_API_TAIL_BUFFER', default: '1MiB', help: 'Bytes that may wait unread in one tail client\'s connection; past it the stream ends with an `end` event (slow_reader).' },
  { name: 'SHIPLOG_COLLECTOR_BATCH_BYTES', default: '2MiB', help: 'Largest fetch per partition, i.e. per insert. Memory grows with it (embedded engine: ~1.2 GiB RSS at 1 MiB, ~2.5 GiB at 8 MiB).' },
  { name: 'SHIPLOG_COLLECTOR_BATCH_WAIT', default: '1s', help: 'How long a fetch waits for 256 KiB (or a full batch) before it inserts what it has: on a quiet topic about one insert a second per partition.' },
  { name: 'SHIPLOG_COLLECTOR_MAX_RECORD_BYTES', default: '32MiB', help: 'Larger records go to the DLQ as oversized.' },
  { name: 'SHIPLOG_COLLECTOR_CONCURRENCY', default: '2', help: 'Partitions processed at the same time by one collector.' },
  { name: 'SHIPLOG_COLLECTOR_SESSION_TIMEOUT', default: '45s', help: 'Kafka group session timeout: how soon partitions of a dead collector move to the others.' },
  { name: 'SHIPLOG_CONTAINER_TTL', default: '5m', help: 'Container metrics (the cAdvisor series and shiplog_log_lines_total) disappear this long after the container was last seen (its last stats sample, event or stored line).' },
  { name: 'SHIPLOG_CONTAINER_LABELS', default: 'com.docker.compose.project,com.docker.compose.service', help: 'Container labels exported as container_label_<name> on container metrics (bounded list: each adds a label to every series).' },
  { name: 'SHIPLOG_STOP_TIMEOUT', default: '9s', help: 'On SIGTERM/Ctrl-C, the longest a clean stop may take before the process exits anyway (below Docker\'s 10 s); a second signal exits at once. Nothing unstored is lost: it is read again on the next start.' },
  { name: 'SHIPLOG_LOG_LEVEL', default: 'info', help: 'The collector\'s own log level.' },
  { name: 'SHIPLOG_LOG_FORMAT', default: 'auto', help: 'Its own log lines: text (for a person), json (one object a line) or auto (text on a terminal, else json).' },
];

/** SHIPLOG_CLICKHOUSE_TLS_CA's PEM text, which only an https URL can use. */
function clickhouseCa(r: EnvReader, u: URL | undefined): string | undefined {
  const ca = readPem(r, 'SHIPLOG_CLICKHOUSE_TLS_CA', 'CERTIFICATE');
  if (r.optionalString('SHIPLOG_CLICKHOUSE_TLS_CA') === undefined) return undefined;
  if (u && u.protocol !== 'https:') r.problem(`SHIPLOG_CLICKHOUSE_TLS_CA: set, but SHIPLOG_CLICKHOUSE_URL is ${u.protocol}// (use https:// for TLS)`);
  if (ca) checkTls(r, 'SHIPLOG_CLICKHOUSE_TLS', { ca });
  return ca;
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopback(address: string): boolean {
  return /^127(\.\d{1,3}){3}$/.test(address) || address === '::1' || address === '[::1]' || address.toLowerCase() === 'localhost';
}

export interface CollectorDefaults {
  /** SHIPLOG_HTTP_ADDRESS when unset: 0.0.0.0 for a collector (a service for other hosts), 127.0.0.1 for `shiplog up`. */
  httpAddress?: string;
}

export function loadCollectorConfig(env: Env, defaults: CollectorDefaults = {}): CollectorConfig {
  const r = new EnvReader(env);
  const brokers = r.list('SHIPLOG_KAFKA_BROKERS');
  if (brokers.length === 0) r.problem('SHIPLOG_KAFKA_BROKERS: not set (host:port list of Kafka brokers)');
  checkHostPortList(r, 'SHIPLOG_KAFKA_BROKERS', brokers);
  const prefix = r.string('SHIPLOG_KAFKA_TOPIC_PREFIX', 'shiplog');
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(prefix)) r.problem(`SHIPLOG_KAFKA_TOPIC_PREFIX: "${prefix}" may only hold letters, digits, '.', '_' and '-'`);
  const database = r.string('SHIPLOG_CLICKHOUSE_DATABASE', 'shiplog');
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,100}$/.test(database)) r.problem(`SHIPLOG_CLICKHOUSE_DATABASE: "${database}" is not a plain identifier (letters, digits, _)`);
  const url = r.optionalString('SHIPLOG_CLICKHOUSE_URL');
  let storage: CollectorConfig['storage'];
  if (url) {
    let u: URL | undefined;
    try {
      u = new URL(url);
    } catch {
      r.problem(`SHIPLOG_CLICKHOUSE_URL: "${url.replace(/\/\/[^@/]*@/, '//***@')}" is not a URL (http://host:8123)`);
    }
    if (u && u.protocol !== 'http:' && u.protocol !== 'https:') r.problem(`SHIPLOG_CLICKHOUSE_URL: protocol must be http or https, not ${u.protocol}`);
    storage = {
      kind: 'clickhouse',
      url,
      username: r.optionalString('SHIPLOG_CLICKHOUSE_USER'),
      password: r.optionalString('SHIPLOG_CLICKHOUSE_PASSWORD'),
      database,
      cluster: r.optionalString('SHIPLOG_CLICKHOUSE_CLUSTER'),
      tlsCa: clickhouseCa(r, u),
    };
  } else {
    if (r.optionalString('SHIPLOG_CLICKHOUSE_TLS_CA')) r.problem('SHIPLOG_CLICKHOUSE_TLS_CA: needs an https:// SHIPLOG_CLICKHOUSE_URL');
    if (r.optionalString('SHIPLOG_CLICKHOUSE_CLUSTER')) r.problem('SHIPLOG_CLICKHOUSE_CLUSTER: needs SHIPLOG_CLICKHOUSE_URL (the embedded engine is a single node)');
    storage = { kind: 'chdb', path: resolve(r.string('SHIPLOG_DATA_DIR', './data'), 'chdb'), database };
  }
  const level = r.oneOf('SHIPLOG_LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const);
  const cfg: CollectorConfig = {
    kafka: { brokers, topicPrefix: prefix, groupId: r.string('SHIPLOG_COLLECTOR_GROUP', 'shiplog-collector'), security: readKafkaSecurity(r) },
    storage,
    retentionDays: r.int('SHIPLOG_RETENTION_DAYS', 30, 1, 36500),
    http: { address: r.string('SHIPLOG_HTTP_ADDRESS', defaults.httpAddress ?? '0.0.0.0'), port: r.int('SHIPLOG_HTTP_PORT', 9880, 0, 65535) },
    api: {
      token: r.optionalString('SHIPLOG_API_TOKEN'),
      queryTimeoutMs: r.durationMs('SHIPLOG_API_QUERY_TIMEOUT', 10_000, 100, 600_000),
      maxResultBytes: r.bytes('SHIPLOG_API_MAX_RESULT_BYTES', 16 * 1024 ** 2, 64 * 1024, 1024 ** 3),
      maxQueries: r.int('SHIPLOG_API_MAX_QUERIES', 4, 1, 256),
      maxTailClients: r.int('SHIPLOG_API_MAX_TAIL_CLIENTS', 100, 0, 100_000),
      tailBufferBytes: r.bytes('SHIPLOG_API_TAIL_BUFFER', 1024 ** 2, 16 * 1024, 1024 ** 3),
    },
    batchBytes: r.bytes('SHIPLOG_COLLECTOR_BATCH_BYTES', 2 * 1024 ** 2, 64 * 1024, 1024 ** 3),
    batchWaitMs: r.durationMs('SHIPLOG_COLLECTOR_BATCH_WAIT', 1000, 10, 60_000),
    maxRecordBytes: r.bytes('SHIPLOG_COLLECTOR_MAX_RECORD_BYTES', 32 * 1024 ** 2, 1024, 1024 ** 3),
    concurrency: r.int('SHIPLOG_COLLECTOR_CONCURRENCY', 2, 1, 64),
    sessionTimeoutMs: r.durationMs('SHIPLOG_COLLECTOR_SESSION_TIMEOUT', 45_000, 6_000, 300_000),
    containerTtlMs: r.durationMs('SHIPLOG_CONTAINER_TTL', 300_000, 1_000, 7 * 86_400_000),
    containerLabels: r.list('SHIPLOG_CONTAINER_LABELS', ['com.docker.compose.project', 'com.docker.compose.service']),
    dlqMaxMessageBytes: 16 * 1024 ** 2,
    logLevel: level,
    logFormat: r.oneOf('SHIPLOG_LOG_FORMAT', 'auto', ['auto', 'json', 'text'] as const),
    stopTimeoutMs: r.durationMs('SHIPLOG_STOP_TIMEOUT', 9_000, 500, 600_000),
    faultKillAfterInserts: r.int('SHIPLOG_FAULT_KILL_AFTER_INSERTS', 0, 0, 1_000_000),
    faultUnstorableText: r.string('SHIPLOG_FAULT_UNSTORABLE_TEXT', ''),
    faultStoreDownFile: r.string('SHIPLOG_FAULT_STORE_DOWN_FILE', ''),
    faultCrashBatches: r.int('SHIPLOG_FAULT_CRASH_BATCHES', 0, 0, 1000),
  };
  const allowOpen = r.bool('SHIPLOG_API_ALLOW_OPEN', false);
  if (!cfg.api.token && !allowOpen && !isLoopback(cfg.http.address)) {
    r.problem(`SHIPLOG_HTTP_ADDRESS: ${cfg.http.address} is reachable from other machines and SHIPLOG_API_TOKEN is not set; set SHIPLOG_API_TOKEN, bind 127.0.0.1, or set SHIPLOG_API_ALLOW_OPEN=true`);
  }
  r.done();
  return cfg;
}
