/**
 * The stats and event records as they travel through Kafka (`<prefix>.stats`,
 * `<prefix>.events`): one type for the agent that writes them and the collector that reads
 * them. The JSON Schemas in schema/ are the contract for other producers; these types follow
 * them (fields a foreign producer may leave out are optional).
 */

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
  memory: { usage: number; working_set: number; rss: number; cache: number; limit: number; failcnt?: number };
  networks: Record<string, Record<string, number>>;
  blkio: { read_bytes: number; write_bytes: number };
  pids: number;
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
