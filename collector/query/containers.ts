/**
 * The containers shiplog knows of in a window (default: the last 24 h), like `docker ps -a`
 * across hosts: from their logs (volume, last line), stats samples (last seen while running)
 * and lifecycle events (state, exit code, health). A container seen in none of them within
 * the window is not listed.
 */
import type { LogStore } from '../store/store.js';
import { EVENTS_TABLE, LOGS_TABLE, STATS_TABLE } from '../store/schema.js';
import { filterProperties, logFilters, timeLimitSql, whereSql } from './filters.js';

export const containersQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    host: filterProperties.host,
    container: filterProperties.container,
    since: { ...filterProperties.since, default: '24h', description: 'Containers seen since then (RFC 3339 or a duration before now)' },
  },
} as const;

export interface ContainersRequest {
  host?: string;
  container?: string;
  since?: string;
}

export interface ContainerInfo {
  host: string;
  id: string;
  name: string;
  image: string;
  service: string;
  /** running, paused, exited, created, removed, or unknown (no lifecycle event or fresh sample in the window). */
  state: string;
  exit_code?: number;
  health?: string;
  /** Starts seen in the window after its first one (a restart by policy or by hand). */
  restarts: number;
  /** Newest of its last line, stats sample and event (RFC 3339). */
  last_seen: string;
  last_log?: string;
  log_lines: number;
  log_bytes: number;
}

/** Event actions that change what `docker ps` would show, and the state after them. */
const STATE_AFTER: Record<string, string> = {
  create: 'created',
  start: 'running',
  restart: 'running',
  unpause: 'running',
  pause: 'paused',
  die: 'exited',
  destroy: 'removed',
};

/** Seen running when a stats sample is at most this old (stats come only from running containers). */
const FRESH_SAMPLE_MS = 120_000;

const iso = (ms: number) => new Date(ms).toISOString();

export async function listContainers(store: LogStore, db: string, req: ContainersRequest, queryTimeoutMs: number, now = Date.now()): Promise<ContainerInfo[]> {
  // The log filters' conditions fit all three tables (each has HostName, ContainerName and the two time columns).
  const { conditions, params } = logFilters({ host: req.host, container: req.container, since: req.since ?? '24h' }, now);
  const where = whereSql(conditions);
  const settings = timeLimitSql(queryTimeoutMs);
  const actions = Object.keys(STATE_AFTER).map((a) => `'${a}'`).join(', ');
  const [logs, stats, events] = await Promise.all([
    store.query<{ host: string; id: string; name: string; image: string; service: string; last_ms: string; lines: string; bytes: string }>(
      `SELECT HostName AS host, ContainerId AS id, argMax(ContainerName, Timestamp) AS name, argMax(ResourceAttributes['container.image.name'], Timestamp) AS image,
         argMax(ServiceName, Timestamp) AS service, toString(toUnixTimestamp64Milli(max(Timestamp))) AS last_ms, toString(count()) AS lines, toString(sum(length(Body))) AS bytes
       FROM ${db}.${LOGS_TABLE} ${where} GROUP BY host, id ${settings}`,
      params,
    ),
    store.query<{ host: string; id: string; name: string; image: string; last_ms: string }>(
      `SELECT HostName AS host, ContainerId AS id, argMax(ContainerName, Timestamp) AS name, argMax(Image, Timestamp) AS image, toString(toUnixTimestamp64Milli(max(Timestamp))) AS last_ms
       FROM ${db}.${STATS_TABLE} ${where} GROUP BY host, id ${settings}`,
      params,
    ),
    store.query<{ host: string; id: string; name: string; image: string; last_ms: string; action: string; exit_code: number; dies: number | string; starts: number | string; health: string; state_ms: string }>(
      `SELECT HostName AS host, ContainerId AS id, argMax(ContainerName, Timestamp) AS name, argMax(Image, Timestamp) AS image,
         toString(toUnixTimestamp64Milli(max(Timestamp))) AS last_ms,
         argMaxIf(Action, Timestamp, Action IN (${actions})) AS action,
         toString(toUnixTimestamp64Milli(maxIf(Timestamp, Action IN (${actions})))) AS state_ms,
         argMaxIf(ExitCode, Timestamp, Action = 'die') AS exit_code, countIf(Action = 'die') AS dies, countIf(Action = 'start') AS starts,
         argMaxIf(Health, Timestamp, Action = 'health_status') AS health
       FROM ${db}.${EVENTS_TABLE} ${where} GROUP BY host, id ${settings}`,
      params,
    ),
  ]);
  const byKey = new Map<string, ContainerInfo & { statsMs: number; stateMs: number }>();
  const entry = (r: { host: string; id: string; name: string; image: string }) => {
    const k = `${r.host}\u0000${r.id}`;
    let e = byKey.get(k);
    if (!e) {
      e = { host: r.host, id: r.id, name: r.name, image: r.image, service: r.name, state: 'unknown', restarts: 0, last_seen: '', log_lines: 0, log_bytes: 0, statsMs: 0, stateMs: 0 };
      byKey.set(k, e);
    }
    return e;
  };
  const seen = (e: { last_seen: string }, ms: number) => {
    if (!e.last_seen || Date.parse(e.last_seen) < ms) e.last_seen = iso(ms);
  };
  // Names and images: events and stats are newer than logs of a renamed container, so they win.
  for (const r of logs) {
    const e = entry(r);
    e.service = r.service;
    e.log_lines = Number(r.lines);
    e.log_bytes = Number(r.bytes);
    e.last_log = iso(Number(r.last_ms));
    seen(e, Number(r.last_ms));
  }
  for (const r of stats) {
    const e = entry(r);
    e.name = r.name;
    e.image = r.image || e.image;
    e.statsMs = Number(r.last_ms);
    seen(e, e.statsMs);
  }
  for (const r of events) {
    const e = entry(r);
    e.name = r.name || e.name;
    e.image = r.image || e.image;
    seen(e, Number(r.last_ms));
    if (r.action) {
      e.state = STATE_AFTER[r.action] ?? 'unknown';
      e.stateMs = Number(r.state_ms);
      // Its last exit code stays after `docker rm` (removed): often the reason to look.
      if (Number(r.dies) > 0 && (r.action === 'die' || r.action === 'destroy')) e.exit_code = Number(r.exit_code);
    }
    if (r.health) e.health = r.health;
    e.restarts = Math.max(0, Number(r.starts) - 1);
  }
  const out: ContainerInfo[] = [];
  for (const { statsMs, stateMs, ...e } of byKey.values()) {
    // A sample newer than the last lifecycle event means it runs (start may predate the window).
    if (statsMs > stateMs && now - statsMs <= FRESH_SAMPLE_MS && e.state !== 'paused') e.state = 'running';
    if (e.state !== 'exited' && e.state !== 'removed') delete e.exit_code;
    out.push(e);
  }
  return out.sort((a, b) => a.host.localeCompare(b.host) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}
