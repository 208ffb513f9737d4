/**
 * After a (re)start the container metrics come back from storage: the latest stats sample
 * of every container seen within the TTL, and its OOM event count. Docker's counters are
 * cumulative, so the values continue where they were instead of restarting at zero.
 */
import type { LogStore } from '../store/store.js';
import { EVENTS_TABLE, STATS_TABLE, quoteIdent } from '../store/schema.js';
import type { StatsRecord } from '../ingest/aux-rows.js';
import type { CadvisorState } from './cadvisor.js';

interface Row {
  ts: string;
  host: string;
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  started: string;
  cpu_total: string;
  cpu_user: string;
  cpu_system: string;
  periods: string;
  throttled_periods: string;
  throttled_ns: string;
  mem_usage: string;
  mem_ws: string;
  mem_rss: string;
  mem_cache: string;
  mem_limit: string;
  blk_r: string;
  blk_w: string;
  pids: string;
  networks: string;
  partition: number;
}

export async function rebuildContainerState(store: LogStore, state: CadvisorState, ttlMs: number): Promise<number> {
  const db = quoteIdent(store.database);
  const rows = await store.query<Row>(
    `SELECT formatDateTime(Timestamp, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS ts, HostName AS host, ContainerId AS id, ContainerName AS name, Image AS image, Labels AS labels, StartedAt AS started,
       toString(CpuTotalNs) AS cpu_total, toString(CpuUserNs) AS cpu_user, toString(CpuSystemNs) AS cpu_system, toString(CpuPeriods) AS periods,
       toString(CpuThrottledPeriods) AS throttled_periods, toString(CpuThrottledNs) AS throttled_ns, toString(MemUsage) AS mem_usage, toString(MemWorkingSet) AS mem_ws,
       toString(MemRss) AS mem_rss, toString(MemCache) AS mem_cache, toString(MemLimit) AS mem_limit, toString(BlkReadBytes) AS blk_r, toString(BlkWriteBytes) AS blk_w,
       toString(Pids) AS pids, Networks AS networks, KafkaPartition AS partition
     FROM ${db}.${STATS_TABLE}
     WHERE TimestampTime >= now() - toIntervalSecond({ttl:UInt32})
     ORDER BY Timestamp DESC LIMIT 1 BY HostName, ContainerId`,
    { ttl: Math.ceil(ttlMs / 1000) },
  );
  for (const r of rows) {
    const rec: StatsRecord = {
      v: 1,
      type: 'stats',
      host: r.host,
      container: { id: r.id, name: r.name, image: r.image, labels: r.labels, started_at: r.started || undefined },
      ts: r.ts,
      cpu: { total_ns: +r.cpu_total, user_ns: +r.cpu_user, system_ns: +r.cpu_system, periods: +r.periods, throttled_periods: +r.throttled_periods, throttled_ns: +r.throttled_ns },
      memory: { usage: +r.mem_usage, working_set: +r.mem_ws, rss: +r.mem_rss, cache: +r.mem_cache, limit: +r.mem_limit },
      networks: JSON.parse(r.networks || '{}') as StatsRecord['networks'],
      blkio: { read_bytes: +r.blk_r, write_bytes: +r.blk_w },
      pids: +r.pids,
    };
    state.onStats(rec, r.partition);
  }
  // OOM counts (all time) of every container seen within the TTL, by stats or by events:
  // a container killed before its first stats sample is known only from its events.
  const ooms = await store.query<{ host: string; id: string; name: string; image: string; partition: number; c: string; last: string; attrs: Record<string, string>; health: string }>(
    `SELECT HostName AS host, ContainerId AS id, argMax(ContainerName, Timestamp) AS name, any(Image) AS image, any(KafkaPartition) AS partition,
       toString(countIf(Action = 'oom')) AS c, toString(toUnixTimestamp64Milli(max(Timestamp))) AS last, any(Attributes) AS attrs,
       if(argMaxIf(Action, Timestamp, Action IN ('health_status', 'start')) = 'start' AND countIf(Action = 'health_status') > 0, 'starting', argMaxIf(Health, Timestamp, Action = 'health_status')) AS health
     FROM ${db}.${EVENTS_TABLE}
     WHERE ContainerId IN (
       SELECT ContainerId FROM ${db}.${EVENTS_TABLE} WHERE TimestampTime >= now() - toIntervalSecond({ttl:UInt32})
       UNION DISTINCT
       SELECT ContainerId FROM ${db}.${STATS_TABLE} WHERE TimestampTime >= now() - toIntervalSecond({ttl:UInt32}))
     GROUP BY HostName, ContainerId`,
    { ttl: Math.ceil(ttlMs / 1000) },
  );
  for (const o of ooms) {
    const { name: _n, image: _i, exitCode: _e, ...labels } = o.attrs;
    state.restoreFromEvents(o.host, { id: o.id, name: o.name, image: o.image, labels }, o.partition, Number(o.c), Number(o.last), o.health);
  }
  return rows.length;
}
