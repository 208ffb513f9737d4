/**
 * Lines per time bucket and level, with the filters of /api/v1/logs: the volume chart of a UI
 * and Grafana. Buckets are aligned to multiples of the interval since the epoch (as
 * ClickHouse's toStartOfInterval does) and every bucket of the range is answered, empty ones
 * as zero.
 */
import { parseDurationMs } from '../../lib/env-config.js';
import type { LogStore } from '../store/store.js';
import { BadParameter, filterProperties, logFilters, timeLimitSql, whereSql, type LogFilters } from './filters.js';

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
  const fromS = Number((where.since as bigint) / 1_000_000_000n);
  const toS = where.until !== undefined ? Number((where.until - 1n) / 1_000_000_000n) + 1 : Math.ceil(now / 1000);
  const span = Math.max(1, toS - fromS);
  let step: number;
  if (req.interval) {
    const ms = parseDurationMs(req.interval);
    if (ms === undefined || ms < 1000 || ms % 1000 !== 0) throw new BadParameter('interval', `"${req.interval}" is not a whole number of seconds (10s, 1m, 1h)`);
    if (ms > MAX_INTERVAL_S * 1000) throw new BadParameter('interval', `${req.interval} is longer than the ${MAX_INTERVAL_S / 86_400} days allowed`);
    step = ms / 1000;
    if (Math.ceil(span / step) > MAX_BUCKETS) throw new BadParameter('interval', `${req.interval} gives ${Math.ceil(span / step)} buckets over this range; at most ${MAX_BUCKETS} (use a wider interval or a shorter range)`);
  } else {
    step = NICE_SECONDS.find((s) => span / s <= AUTO_BUCKETS) ?? Math.ceil(span / AUTO_BUCKETS);
  }
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
  const first = Math.floor(fromS / step) * step;
  const buckets: Histogram['buckets'] = [];
  const byTime = new Map<number, Histogram['buckets'][number]>();
  for (let t = first; t < toS; t += step) {
    const b = { time: new Date(t * 1000).toISOString(), total: 0, levels: {} as Record<string, number> };
    buckets.push(b);
    byTime.set(t, b);
  }
  for (const r of rows) {
    const b = byTime.get(Number(r.t));
    if (!b) continue;
    const level = r.level || 'unknown';
    b.levels[level] = (b.levels[level] ?? 0) + Number(r.n);
    b.total += Number(r.n);
  }
  return { interval_seconds: step, from: new Date(fromS * 1000).toISOString(), to: new Date(toS * 1000).toISOString(), buckets };
}
