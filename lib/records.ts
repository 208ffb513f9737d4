/**
 * The records as they travel through Kafka (`<prefix>.logs`, `<prefix>.stats`,
 * `<prefix>.events`): one type for the agent that writes them and the collector that reads
 * them. The JSON Schemas in schema/ are the contract for other producers; these types follow
 * them (fields a foreign producer may leave out are optional). The log record's encoder is
 * agent/ship/record.ts.
 */

export const RECORD_VERSION = 1;

/**
 * Where a stream stands after a record: the Docker timestamp of the last entry consumed and how
 * many entries with exactly that timestamp were consumed; `b` when only the first b bytes of
 * the last one were (a split part ending at a character boundary).
 */
export interface Cursor {
  ts: string;
  n: number;
  b?: number;
}

export interface RecordCursor {
  stdout?: Cursor;
  stderr?: Cursor;
}

/** A log record: one container's consecutive lines. */
export interface LogRecord {
  v: number;
  type: 'logs';
  host: string;
  container: {
    id: string;
    name: string;
    image: string;
    image_id?: string;
    labels: Record<string, string>;
    compose_project?: string;
    compose_service?: string;
    swarm_service?: string;
    swarm_task?: string;
    stack?: string;
  };
  lines: { ts: string; stream: 'stdout' | 'stderr'; msg?: string; msg_b64?: string; split?: true; cont?: true }[];
  cursor: RecordCursor;
}

/** Container metadata carried by every record. */
export interface RecordContainer {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  compose_project?: string;
  compose_service?: string;
  swarm_service?: string;
  swarm_task?: string;
  started_at?: string;
}

export interface StatsRecord {
  v: 1;
  type: 'stats';
  host: string;
  container: RecordContainer;
  /** Docker's read time (RFC 3339). */
  ts: string;
  cpu: { total_ns: number; user_ns: number; system_ns: number; periods: number; throttled_periods: number; throttled_ns: number; online_cpus?: number };
  memory: { usage: number; working_set: number; rss: number; cache: number; limit: number; failcnt?: number; max_usage?: number; swap?: number; mapped_file?: number };
  networks: Record<string, Record<string, number>>;
  blkio: { read_bytes: number; write_bytes: number };
  /** Block I/O per device, keyed by its name (/dev/sda) or major:minor when the agent cannot name it. */
  blkio_devices?: Record<string, { read_bytes: number; write_bytes: number }>;
  pids: number;
  /** The container's resource settings (from inspect), when the agent sends them. */
  spec?: ContainerSpec;
  /** The engine host's CPUs and memory (`docker info`), when the agent sends them. */
  machine?: MachineFacts;
}

/** A Docker host's CPU count and memory in bytes, as the engine reports them (NCPU, MemTotal). */
export interface MachineFacts {
  cpu_cores: number;
  memory_bytes: number;
}

/** Resource settings as the kernel applies them: CFS period and quota (µs; quota 0: none), CPU shares, memory reservation (bytes; 0: none), memory + swap limit (bytes; 0: none). */
export interface ContainerSpec {
  cpu_period: number;
  cpu_quota: number;
  cpu_shares: number;
  memory_reservation: number;
  memory_swap?: number;
}

export interface EventRecord {
  v: 1;
  type: 'event';
  host: string;
  container: RecordContainer;
  action: string;
  /** Docker's event time in nanoseconds since the epoch, as a decimal string. */
  time_nano: string;
  exit_code?: number;
  /** For health_status: healthy, unhealthy or starting. */
  health?: string;
  /** For rename: the previous name. */
  old_name?: string;
  attributes: Record<string, string>;
}
