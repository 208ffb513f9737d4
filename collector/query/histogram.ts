/**
 * Lines per time bucket and level, with the filters of /api/v1/logs: the volume chart of a UI
 * and Grafana. Buckets are aligned to multiples of the interval since the epoch (as
 * ClickHouse's toStartOfInterval does) and every bucket of the range is answered, empty ones
 * as zero.
 */
import type { LogStore } from '../store/store.js';
import { bucketRange, emptyBuckets } from './buckets.js';
import { filterProperties, logFilters, timeLimitSql, whereSql, type LogFilters } from './filters.js';

export const MAX_BUCKETS = 1000;
/** Intervals chosen when none is asked for: the smallest that gives at most AUTO_BUCKETS. */
const NICE_SECONDS = [1, 5, 10, 15, 30, 60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 7 * 86_400];
const AUTO_BUCKETS = 120;

export const histogramQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...filterProperties,
    since: { ...filterProperties.since, default: '1h' },
    interval: { type: 'string', maxLength: 16, pattern: '^[0-9]{1,10}(s|m|h|d)$', description: `Bucket width (10s, 1m, 1h); default: the smallest of ${NICE_SECONDS.length} round widths giving at most ${AUTO_BUCKETS} buckets` },
  },
} as const;

export interface HistogramRequest extends LogFilters {
  interval?: string;
}

export interface Histogram {
  interval_seconds: number;
  from: string;
  to: string;
  buckets: { time: string; total: number; levels: Record<string, number> }[];
}

/** The widest bucket taken (ten years). */
const MAX_INTERVAL_S = 3650 * 86_400;

export async function histogram(store: LogStore, db: string, table: string, req: HistogramRequest, queryTimeoutMs: number, now = Date.now()): Promise<Histogram> {
  const where = logFilters({ ...req, since: req.since ?? '1h' }, now);
  const range = bucketRange(where, now, req.interval, { parameter: 'interval', maxBuckets: MAX_BUCKETS, autoBuckets: AUTO_BUCKETS, nice: NICE_SECONDS, maxStepS: MAX_INTERVAL_S });
  const { fromS, toS, step } = range;
  where.params.step = step;
  const rows = await store.query<{ t: number | string; level: string; n: number | string }>(
    `SELECT toUnixTimestamp(toStartOfInterval(TimestampTime, toIntervalSecond({step:UInt32}))) AS t, lower(SeverityText) AS level, count() AS n
     FROM ${db}.${table}
     ${whereSql(where.conditions)}
     GROUP BY t, level
     ORDER BY t
     ${timeLimitSql(queryTimeoutMs)}`,
    where.params,
  );
  const { list: buckets, at } = emptyBuckets(range, (time): Histogram['buckets'][number] => ({ time, total: 0, levels: {} }));
  for (const r of rows) {
    const b = at.get(Number(r.t));
    if (!b) continue;
    const level = r.level || 'unknown';
    b.levels[level] = (b.levels[level] ?? 0) + Number(r.n);
    b.total += Number(r.n);
  }
  return { interval_seconds: step, from: new Date(fromS * 1000).toISOString(), to: new Date(toS * 1000).toISOString(), buckets };
}
