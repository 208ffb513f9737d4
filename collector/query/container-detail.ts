/**
 * One container's history for its page: CPU and memory from the stored stats samples, in
 * buckets over a range (zero-filled where no sample fell), and its lifecycle events. The
 * container is named by its id (full, or a prefix of at least 12 hex digits, as docker prints it).
 */
import { EVENTS_TABLE, rfc3339NanoSql, STATS_TABLE } from '../store/schema.js';
import type { LogStore } from '../store/store.js';
import { bucketRange, emptyBuckets } from './buckets.js';
import { filterProperties, logFilters, timeLimitSql, whereSql } from './filters.js';

export const containerIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[0-9a-f]{12,64}$', description: 'Container id, or its first 12 or more hex digits' } },
} as const;

export const containerStatsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    since: { ...filterProperties.since, default: '1h' },
    until: filterProperties.until,
    step: { type: 'string', maxLength: 16, pattern: '^[0-9]{1,9}(s|m|h|d)$', description: 'Bucket width (10s, 1m, 1h); by default about 120 buckets over the range' },
  },
} as const;

export const containerEventsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    since: { ...filterProperties.since, default: '7d' },
    until: filterProperties.until,
    limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 1000 },
  },
} as const;

const MAX_BUCKETS = 2000;
const AUTO_BUCKETS = 120;
const NICE_SECONDS = [10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

export interface StatsBucket {
  time: string;
  /** CPU used in the bucket, in cores (seconds of CPU per second); absent without two samples. */
  cpu_cores?: number;
  /** Working set (what `docker stats` shows), average and peak of the bucket's samples, bytes. */
  memory_bytes?: number;
  memory_max_bytes?: number;
  /** The container's memory limit (the host's memory when it has none). */
  memory_limit_bytes?: number;
}

export interface ContainerStats {
  id: string;
  step_seconds: number;
  from: string;
  to: string;
  buckets: StatsBucket[];
}

const idCondition = (params: Record<string, string | number>, id: string) => {
  params.id = id;
  return id.length === 64 ? 'ContainerId = {id:String}' : 'startsWith(ContainerId, {id:String})';
};

export async function containerStats(store: LogStore, db: string, id: string, req: { since?: string; until?: string; step?: string }, queryTimeoutMs: number, now = Date.now()): Promise<ContainerStats> {
  const where = logFilters({ since: req.since ?? '1h', until: req.until }, now);
  const range = bucketRange(where, now, req.step, { parameter: 'step', maxBuckets: MAX_BUCKETS, autoBuckets: AUTO_BUCKETS, nice: NICE_SECONDS });
  const { fromS, toS, step } = range;
  const params = where.params as Record<string, string | number>;
  const conditions = [...where.conditions, idCondition(params, id)];
  params.step = step;
  // CPU: the counter's growth between consecutive samples over their time apart (a restart
  // resets the counter: a negative step is left out), summed per bucket.
  const rows = await store.query<{ t: string; cpu_ns: string; dt_ns: string; mem_avg: number | null; mem_max: string; mem_limit: string; n: string }>(
    `SELECT toString(toUnixTimestamp(toStartOfInterval(ts, toIntervalSecond({step:UInt32})))) AS t,
       toString(sumIf(d_cpu, ok)) AS cpu_ns, toString(sumIf(dt, ok)) AS dt_ns,
       avg(mem) AS mem_avg, toString(max(mem)) AS mem_max, toString(argMax(lim, ts)) AS mem_limit, toString(count()) AS n
     FROM (
       SELECT Timestamp AS ts, MemWorkingSet AS mem, MemLimit AS lim,
         toInt64(CpuTotalNs) - lagInFrame(toInt64(CpuTotalNs)) OVER w AS d_cpu,
         toInt64(toUnixTimestamp64Nano(Timestamp)) - lagInFrame(toInt64(toUnixTimestamp64Nano(Timestamp))) OVER w AS dt,
         row_number() OVER w > 1 AND d_cpu >= 0 AND dt > 0 AS ok
       FROM ${db}.${STATS_TABLE}
       ${whereSql(conditions)}
       WINDOW w AS (PARTITION BY ContainerId ORDER BY Timestamp ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
     )
     GROUP BY t ORDER BY t
     ${timeLimitSql(queryTimeoutMs)}`,
    params,
  );
  const { list: buckets, at } = emptyBuckets(range, (time): StatsBucket => ({ time }));
  for (const r of rows) {
    const b = at.get(Number(r.t));
    if (!b || Number(r.n) === 0) continue;
    if (Number(r.dt_ns) > 0) b.cpu_cores = Number(r.cpu_ns) / Number(r.dt_ns);
    b.memory_bytes = Math.round(Number(r.mem_avg));
    b.memory_max_bytes = Number(r.mem_max);
    b.memory_limit_bytes = Number(r.mem_limit);
  }
  return { id, step_seconds: step, from: new Date(fromS * 1000).toISOString(), to: new Date(toS * 1000).toISOString(), buckets };
}

export interface ContainerEvent {
  time: string;
  host: string;
  name: string;
  action: string;
  exit_code?: number;
  health?: string;
  old_name?: string;
}

/** The container's lifecycle events in the range, oldest first. */
export async function containerEvents(store: LogStore, db: string, id: string, req: { since?: string; until?: string; limit?: number }, queryTimeoutMs: number, now = Date.now()): Promise<ContainerEvent[]> {
  const where = logFilters({ since: req.since ?? '7d', until: req.until }, now);
  const params = where.params as Record<string, string | number>;
  const conditions = [...where.conditions, idCondition(params, id)];
  params.limit = req.limit ?? 1000;
  const rows = await store.query<{ time: string; host: string; name: string; action: string; exit_code: number; health: string; old_name: string }>(
    `SELECT * FROM (
       SELECT ${rfc3339NanoSql('Timestamp')} AS time, Timestamp AS ts, HostName AS host, ContainerName AS name, Action AS action, ExitCode AS exit_code, Health AS health, OldName AS old_name
       FROM ${db}.${EVENTS_TABLE} ${whereSql(conditions)}
       ORDER BY ts DESC LIMIT {limit:UInt32}
     ) ORDER BY ts
     ${timeLimitSql(queryTimeoutMs)}`,
    params,
  );
  return rows.map((r) => ({
    time: r.time,
    host: r.host,
    name: r.name,
    action: r.action,
    ...(r.action === 'die' ? { exit_code: Number(r.exit_code) } : {}),
    ...(r.health ? { health: r.health } : {}),
    ...(r.old_name ? { old_name: r.old_name } : {}),
  }));
}
