/**
 * The agent's settings: one schema, read from the environment (flags are mapped onto the same
 * names by the CLI), validated once at start-up with every problem reported together.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { EnvReader, checkHostPortList, parseDurationMs, type Env } from '../lib/env-config.js';
import { ZSTD_AVAILABLE } from '../lib/kafka-codecs.js';
import { KAFKA_SECURITY_SETTINGS, readKafkaSecurity, type KafkaSecurity } from '../lib/kafka-security.js';
import { parseDockerHost, type DockerEndpoint } from './docker/client.js';
import type { FilterConfig } from './process/filter.js';

export interface AgentConfig {
  docker: DockerEndpoint;
  /** Stamped on every record; set from the engine's name at start when hostFromEngine. */
  host: string;
  /** SHIPLOG_HOSTNAME unset: the host is the name the engine gives its machine. */
  hostFromEngine: boolean;
  dataDir: string;
  kafka: {
    brokers: string[];
    topicPrefix: string;
    compression: 'gzip' | 'zstd' | 'none';
    gzipLevel: number;
    partitions: number;
    replicationFactor: number;
    /** 0: the broker's default. */
    minInsyncReplicas: number;
    maxMessageBytes: number;
    security: KafkaSecurity;
  };
  http: { address: string; port: number };
  maxLineBytes: number;
  batchBytes: number;
  lingerMs: number;
  recordBytes: number;
  maxBufferBytes: number;
  multilineFlushMs: number;
  multilineMaxLines: number;
  /** Earlier log of containers that exist at the first start: all, or the last `ms` (0: none). */
  backlog: 'all' | { ms: number };
  statsIntervalMs: number;
  statsConcurrency: number;
  /** SHIPLOG_CONTAINER_TTL: a removed container's metric series go this long after its last line. */
  containerTtlMs: number;
  filter: FilterConfig;
  logLevel: string;
  logFormat: 'auto' | 'json' | 'text';
  /** SHIPLOG_STOP_TIMEOUT: the longest a clean stop may take. */
  stopTimeoutMs: number;
  /** Test-only fault injection (SHIPLOG_FAULT_KILL_AFTER_ACKS), see Shipper. */
  faultKillAfterAcks: number;
  /** SHIPLOG_DOCKER_LOGS: read containers' logs through the Engine API, from their json-file files, or each the best way it can. */
  logsFrom: 'api' | 'files' | 'auto';
  /** SHIPLOG_DOCKER_ROOT: where the engine's data dir (its DockerRootDir) is seen by the agent; unset: at the same path. */
  dockerRoot: string | undefined;
}

/** Every setting the agent reads, with its default and meaning; the README table is made from this. */
export const AGENT_SETTINGS: { name: string; default: string; help: string }[] = [
  { name: 'DOCKER_HOST', default: 'unix:///var/run/docker.sock', help: 'Docker Engine API endpoint (unix:///path or tcp://host:port). Only GET requests are ever sent.' },
  { name: 'SHIPLOG_HOSTNAME', default: "the engine's name", help: 'Host name stamped on every record. Unset: the name Docker gives its host (`docker info` Name), which is the host\'s even when the agent runs in a container; os.hostname() if the engine does not say.' },
  { name: 'SHIPLOG_DATA_DIR', default: './data', help: 'Where checkpoints (agent/checkpoints.json) are kept.' },
  { name: 'SHIPLOG_KAFKA_BROKERS', default: '(required for shiplog agent)', help: 'Comma-separated host:port list.' },
  { name: 'SHIPLOG_KAFKA_TOPIC_PREFIX', default: 'shiplog', help: 'Topics are <prefix>.logs, <prefix>.stats, <prefix>.events.' },
  { name: 'SHIPLOG_KAFKA_COMPRESSION', default: 'gzip', help: 'gzip, zstd (needs Node >= 22.15 on agents and collectors) or none.' },
  { name: 'SHIPLOG_KAFKA_GZIP_LEVEL', default: '1', help: 'gzip level 1 (fastest) to 9 (smallest).' },
  { name: 'SHIPLOG_KAFKA_PARTITIONS', default: '6', help: 'Partitions of <prefix>.logs if the agent creates it.' },
  { name: 'SHIPLOG_KAFKA_REPLICATION_FACTOR', default: '-1', help: 'Replication factor if the agent creates the topic (-1: the broker\'s default). In a cluster: 3.' },
  { name: 'SHIPLOG_KAFKA_MIN_INSYNC_REPLICAS', default: '0', help: 'min.insync.replicas of topics the agent creates (0: the broker\'s default). With 3 replicas, 2: a write is acknowledged once two brokers have it, and one broker may be down.' },
  { name: 'SHIPLOG_KAFKA_MAX_MESSAGE_BYTES', default: '16MiB', help: 'max.message.bytes of a topic the agent creates.' },
  ...KAFKA_SECURITY_SETTINGS,
  { name: 'SHIPLOG_AGENT_ADDRESS', default: '0.0.0.0', help: 'Address of the agent\'s HTTP server (/metrics, /healthz, /readyz).' },
  { name: 'SHIPLOG_AGENT_PORT', default: '9881', help: 'Port of the agent\'s HTTP server (0 = any free port).' },
  { name: 'SHIPLOG_MAX_LINE_BYTES', default: '2MiB', help: 'Longer lines are shipped as several parts marked `split` (never cut off); the query API joins them back.' },
  { name: 'SHIPLOG_BATCH_BYTES', default: '1MiB', help: 'A batch is sent once this much is buffered ...' },
  { name: 'SHIPLOG_BATCH_LINGER', default: '1s', help: '... or once the oldest buffered line waited this long (a full batch goes at once). On a quiet host each batch is one Kafka request or, in shiplog up, one insert: at 100 containers × 10 lines/s a 1 s linger costs the agent 0.09 core against 0.15 at 100 ms (bench/everyday.ts); lower it for lower latency.' },
  { name: 'SHIPLOG_RECORD_BYTES', default: '256KiB', help: 'Largest Kafka record made of one container\'s lines.' },
  { name: 'SHIPLOG_BUFFER_BYTES', default: '64MiB', help: 'Unacknowledged bytes above which log streams are paused (backpressure).' },
  { name: 'SHIPLOG_MULTILINE_TIMEOUT', default: '1s', help: 'A multi-line record is complete after its stream was quiet this long.' },
  { name: 'SHIPLOG_MULTILINE_MAX_LINES', default: '500', help: 'A multi-line record is complete at this many lines.' },
  { name: 'SHIPLOG_STATS_INTERVAL', default: '10s', help: 'How often each followed container\'s resource stats are sampled (0 = off).' },
  { name: 'SHIPLOG_STATS_CONCURRENCY', default: '8', help: 'Stats requests to Docker at the same time.' },
  { name: 'SHIPLOG_CONTAINER_TTL', default: '5m', help: 'A removed container\'s metric series disappear this long after its last line was shipped (unless a container of the same name is followed).' },
  { name: 'SHIPLOG_DOCKER_LOGS', default: 'auto', help: 'How container logs are read: files (tail the json-file log files directly: no load on dockerd, faster, no loss at rotation), api (through the Engine API\'s log stream), or auto (files for json-file containers when their files can be read, the API for the rest — other drivers, a remote DOCKER_HOST, no access).' },
  { name: 'SHIPLOG_DOCKER_ROOT', default: '(the engine\'s DockerRootDir)', help: 'Where the agent finds the engine\'s data dir (normally /var/lib/docker), for reading log files. Set it when that dir is mounted elsewhere in the agent\'s container; mount it (or its containers/ folder) read-only: the agent only reads.' },
  { name: 'SHIPLOG_BACKLOG', default: '1h', help: 'Containers that exist at the agent\'s first start, running or exited: how much of their earlier log is read — a duration (1h: their lines of the last hour), all (their whole log) or none (from now on). Containers created later are always read whole.' },
  { name: 'SHIPLOG_INCLUDE_NAMES', default: '', help: 'Only containers whose name matches one of these globs (comma list).' },
  { name: 'SHIPLOG_EXCLUDE_NAMES', default: '', help: 'Skip containers whose name matches one of these globs.' },
  { name: 'SHIPLOG_INCLUDE_IMAGES', default: '', help: 'Only containers whose image matches one of these globs.' },
  { name: 'SHIPLOG_EXCLUDE_IMAGES', default: '', help: 'Skip containers whose image matches one of these globs.' },
  { name: 'SHIPLOG_INCLUDE_LABELS', default: '', help: 'Only containers with one of these labels (key or key=value).' },
  { name: 'SHIPLOG_EXCLUDE_LABELS', default: '', help: 'Skip containers with one of these labels (key or key=value).' },
  { name: 'SHIPLOG_STOP_TIMEOUT', default: '9s', help: 'On SIGTERM/Ctrl-C, the longest a clean stop may take before the process exits anyway (below Docker\'s 10 s); a second signal exits at once. Nothing unstored is lost: it is read again on the next start.' },
  { name: 'SHIPLOG_LOG_LEVEL', default: 'info', help: 'The agent\'s own log level (fatal, error, warn, info, debug, trace).' },
  { name: 'SHIPLOG_LOG_FORMAT', default: 'auto', help: 'Its own log lines: text (for a person), json (one object a line) or auto (text on a terminal, else json).' },
];

export function loadAgentConfig(env: Env, opts: { requireKafka: boolean }): AgentConfig {
  const r = new EnvReader(env);
  const docker = parseDockerHost(r.raw('DOCKER_HOST'));
  if (typeof docker === 'string') r.problem(docker);
  const brokers = r.list('SHIPLOG_KAFKA_BROKERS');
  if (opts.requireKafka && brokers.length === 0) r.problem('SHIPLOG_KAFKA_BROKERS: not set (host:port list of Kafka brokers)');
  checkHostPortList(r, 'SHIPLOG_KAFKA_BROKERS', brokers);
  const prefix = r.string('SHIPLOG_KAFKA_TOPIC_PREFIX', 'shiplog');
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(prefix)) r.problem(`SHIPLOG_KAFKA_TOPIC_PREFIX: "${prefix}" may only hold letters, digits, '.', '_' and '-'`);
  const maxMessageBytes = r.bytes('SHIPLOG_KAFKA_MAX_MESSAGE_BYTES', 16 * 1024 ** 2, 64 * 1024, 1024 ** 3);
  const maxLineBytes = r.bytes('SHIPLOG_MAX_LINE_BYTES', 2 * 1024 ** 2, 16 * 1024, 512 * 1024 ** 2);
  // A line may grow by a third as base64 (invalid UTF-8) and needs room for the record around it.
  if (Math.ceil(maxLineBytes * 1.4) + 64 * 1024 > maxMessageBytes) {
    r.problem(`SHIPLOG_MAX_LINE_BYTES: ${maxLineBytes} does not fit in SHIPLOG_KAFKA_MAX_MESSAGE_BYTES ${maxMessageBytes} (needs at most ~70% of it)`);
  }
  if (r.raw('SHIPLOG_KAFKA_COMPRESSION') === 'zstd' && !ZSTD_AVAILABLE) {
    r.problem(`SHIPLOG_KAFKA_COMPRESSION: zstd needs Node.js >= 22.15 (this is ${process.version}); use gzip or none`);
  }
  const level = r.oneOf('SHIPLOG_LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const);
  const cfg: AgentConfig = {
    docker: typeof docker === 'string' ? { display: '' } : docker,
    host: r.string('SHIPLOG_HOSTNAME', hostname()),
    hostFromEngine: r.raw('SHIPLOG_HOSTNAME') === undefined,
    dataDir: resolve(r.string('SHIPLOG_DATA_DIR', './data')),
    kafka: {
      brokers,
      topicPrefix: prefix,
      compression: r.oneOf('SHIPLOG_KAFKA_COMPRESSION', 'gzip', ['gzip', 'zstd', 'none'] as const),
      gzipLevel: r.int('SHIPLOG_KAFKA_GZIP_LEVEL', 1, 1, 9),
      partitions: r.int('SHIPLOG_KAFKA_PARTITIONS', 6, 1, 10_000),
      replicationFactor: r.int('SHIPLOG_KAFKA_REPLICATION_FACTOR', -1, -1, 100),
      minInsyncReplicas: r.int('SHIPLOG_KAFKA_MIN_INSYNC_REPLICAS', 0, 0, 100),
      maxMessageBytes,
      security: readKafkaSecurity(r),
    },
    http: { address: r.string('SHIPLOG_AGENT_ADDRESS', '0.0.0.0'), port: r.int('SHIPLOG_AGENT_PORT', 9881, 0, 65535) },
    maxLineBytes,
    batchBytes: r.bytes('SHIPLOG_BATCH_BYTES', 1024 ** 2, 1024, 256 * 1024 ** 2),
    lingerMs: r.durationMs('SHIPLOG_BATCH_LINGER', 1000, 0, 60_000),
    recordBytes: r.bytes('SHIPLOG_RECORD_BYTES', 256 * 1024, 1024, 64 * 1024 ** 2),
    maxBufferBytes: r.bytes('SHIPLOG_BUFFER_BYTES', 64 * 1024 ** 2, 1024 ** 2, 16 * 1024 ** 3),
    multilineFlushMs: r.durationMs('SHIPLOG_MULTILINE_TIMEOUT', 1000, 10, 600_000),
    multilineMaxLines: r.int('SHIPLOG_MULTILINE_MAX_LINES', 500, 2, 100_000),
    backlog: backlogSetting(r),
    statsIntervalMs: r.durationMs('SHIPLOG_STATS_INTERVAL', 10_000, 0, 3_600_000),
    statsConcurrency: r.int('SHIPLOG_STATS_CONCURRENCY', 8, 1, 256),
    containerTtlMs: r.durationMs('SHIPLOG_CONTAINER_TTL', 300_000, 1_000, 7 * 86_400_000),
    filter: {
      includeNames: r.list('SHIPLOG_INCLUDE_NAMES'),
      excludeNames: r.list('SHIPLOG_EXCLUDE_NAMES'),
      includeImages: r.list('SHIPLOG_INCLUDE_IMAGES'),
      excludeImages: r.list('SHIPLOG_EXCLUDE_IMAGES'),
      includeLabels: r.list('SHIPLOG_INCLUDE_LABELS'),
      excludeLabels: r.list('SHIPLOG_EXCLUDE_LABELS'),
    },
    logLevel: level,
    logFormat: r.oneOf('SHIPLOG_LOG_FORMAT', 'auto', ['auto', 'json', 'text'] as const),
    stopTimeoutMs: r.durationMs('SHIPLOG_STOP_TIMEOUT', 9_000, 500, 600_000),
    faultKillAfterAcks: r.int('SHIPLOG_FAULT_KILL_AFTER_ACKS', 0, 0, 1_000_000),
    logsFrom: r.oneOf('SHIPLOG_DOCKER_LOGS', 'auto', ['auto', 'files', 'api'] as const),
    dockerRoot: r.raw('SHIPLOG_DOCKER_ROOT') || undefined,
  };
  if (cfg.dockerRoot !== undefined && !cfg.dockerRoot.startsWith('/')) r.problem(`SHIPLOG_DOCKER_ROOT: "${cfg.dockerRoot}" is not an absolute path`);
  const { replicationFactor: rf, minInsyncReplicas: isr } = cfg.kafka;
  if (rf > 0 && isr > rf) r.problem(`SHIPLOG_KAFKA_MIN_INSYNC_REPLICAS: ${isr} is more than SHIPLOG_KAFKA_REPLICATION_FACTOR ${rf}: no write could ever be acknowledged`);
  r.done();
  return cfg;
}

/** SHIPLOG_BACKLOG: all, none, or a duration before the first start. */
function backlogSetting(r: EnvReader): 'all' | { ms: number } {
  const v = r.raw('SHIPLOG_BACKLOG') ?? '1h';
  if (v === 'all') return 'all';
  if (v === 'none') return { ms: 0 };
  const ms = parseDurationMs(v);
  if (ms === undefined || ms < 0) {
    r.problems.push(`SHIPLOG_BACKLOG: "${v}" is neither all, none nor a duration (e.g. 1h, 30m, 7d)`);
    return { ms: 3_600_000 };
  }
  return { ms };
}
