/**
 * Container metrics under cAdvisor's names, types, units and labels, from the latest stats
 * sample and the lifecycle events of each container this collector consumes. Series of a
 * container not seen for `ttlMs` disappear. Labels: id (/docker/<id>), name, image, host,
 * plus container_label_<k> for an allow-list of labels (sanitised as cAdvisor does).
 * Cardinality: one series per container and metric (network: per interface as well).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { MachineFacts } from '../../lib/records.js';
import type { EventRecord, StatsRecord } from '../ingest/aux-rows.js';

interface ContainerState {
  host: string;
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  partition: number;
  sample?: StatsRecord;
  lastSeenMs: number;
  startedSec?: number;
  oomEvents: number;
  health?: string;
}

export function sanitizeLabel(k: string): string {
  return `container_label_${k.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

export class CadvisorState {
  private readonly containers = new Map<string, ContainerState>();
  private readonly labelKeys: string[];

  constructor(private readonly ttlMs: number, allowLabels: string[]) {
    this.labelKeys = allowLabels;
  }

  get size(): number {
    return this.containers.size;
  }

  private entry(host: string, c: { id: string; name: string; image: string; labels: Record<string, string> }, partition: number): ContainerState {
    const key = `${host}/${c.id}`;
    let e = this.containers.get(key);
    if (!e) {
      e = { host, id: c.id, name: c.name, image: c.image, labels: c.labels, partition, lastSeenMs: 0, oomEvents: 0 };
      this.containers.set(key, e);
    }
    e.partition = partition;
    if (c.name) e.name = c.name;
    return e;
  }

  onStats(r: StatsRecord, partition: number): void {
    const e = this.entry(r.host, r.container, partition);
    const t = Date.parse(r.ts);
    if (e.sample && Date.parse(e.sample.ts) > t) return; // an older sample, redelivered
    e.sample = r;
    e.image = r.container.image;
    e.labels = r.container.labels;
    e.lastSeenMs = Math.max(e.lastSeenMs, t);
    // The agent's started_at comes from its last inspect and can predate a restart the start
    // event already told: never move back.
    if (r.container.started_at && !r.container.started_at.startsWith('0001-')) e.startedSec = Math.max(e.startedSec ?? 0, Date.parse(r.container.started_at) / 1000);
  }

  onEvent(r: EventRecord, partition: number): void {
    const e = this.entry(r.host, r.container, partition);
    const t = Number(BigInt(r.time_nano) / 1_000_000n);
    e.lastSeenMs = Math.max(e.lastSeenMs, t);
    if (r.action === 'oom') e.oomEvents++;
    if (r.action === 'health_status' && r.health) e.health = r.health;
    if (r.action === 'start') {
      e.startedSec = t / 1000;
      // Docker starts the check over (as "starting", with no event of its own).
      if (e.health) e.health = 'starting';
    }
  }

  /** Restores what events tell (OOM count, last time seen) after a restart, without double counting. */
  restoreFromEvents(host: string, c: { id: string; name: string; image: string; labels: Record<string, string> }, partition: number, oomEvents: number, lastSeenMs: number, health = ''): void {
    const e = this.entry(host, c, partition);
    if (health && !e.health) e.health = health;
    if (!e.sample) e.labels = c.labels;
    e.oomEvents = Math.max(e.oomEvents, oomEvents);
    e.lastSeenMs = Math.max(e.lastSeenMs, lastSeenMs);
  }

  /** Keeps only containers on partitions this collector owns now (after a rebalance). */
  retainPartitions(owned: Set<number>): void {
    for (const [k, e] of this.containers) if (!owned.has(e.partition)) this.containers.delete(k);
  }

  live(now = Date.now()): ContainerState[] {
    const out: ContainerState[] = [];
    for (const [k, e] of this.containers) {
      if (now - e.lastSeenMs > this.ttlMs) this.containers.delete(k);
      else out.push(e);
    }
    return out;
  }

  labelsOf(e: ContainerState): Record<string, string> {
    const l: Record<string, string> = { id: `/docker/${e.id}`, name: e.name, image: e.image, host: e.host };
    for (const k of this.labelKeys) l[sanitizeLabel(k)] = e.labels[k] ?? '';
    return l;
  }

  get labelNames(): string[] {
    return ['id', 'name', 'image', 'host', ...this.labelKeys.map(sanitizeLabel)];
  }
}

type Def = { name: string; help: string; type: 'counter' | 'gauge'; extra?: string[]; value: (e: ContainerState, s: StatsRecord) => number | [Record<string, string>, number][] | undefined };

const NS = 1e9;
const net = (dir: 'rx' | 'tx', f: string) => (_e: ContainerState, s: StatsRecord): [Record<string, string>, number][] =>
  Object.entries(s.networks).map(([iface, v]) => [{ interface: iface }, v[`${dir}_${f}`] ?? 0]);

/** Per device as cAdvisor labels it; a sample without per-device figures (an older agent's, or one rebuilt from storage) as device="". */
const blk = (f: 'read_bytes' | 'write_bytes') => (_e: ContainerState, s: StatsRecord): [Record<string, string>, number][] => {
  const devices = Object.entries(s.blkio_devices ?? {});
  return devices.length ? devices.map(([device, v]) => [{ device }, v[f] ?? 0]) : [[{ device: '' }, s.blkio[f]]];
};

const DEFS: Def[] = [
  { name: 'container_cpu_usage_seconds_total', help: 'Cumulative cpu time consumed in seconds.', type: 'counter', extra: ['cpu'], value: (_e, s) => [[{ cpu: 'total' }, s.cpu.total_ns / NS]] },
  { name: 'container_cpu_user_seconds_total', help: 'Cumulative user cpu time consumed in seconds.', type: 'counter', value: (_e, s) => s.cpu.user_ns / NS },
  { name: 'container_cpu_system_seconds_total', help: 'Cumulative system cpu time consumed in seconds.', type: 'counter', value: (_e, s) => s.cpu.system_ns / NS },
  { name: 'container_cpu_cfs_periods_total', help: 'Number of elapsed enforcement period intervals.', type: 'counter', value: (_e, s) => s.cpu.periods },
  { name: 'container_cpu_cfs_throttled_periods_total', help: 'Number of throttled period intervals.', type: 'counter', value: (_e, s) => s.cpu.throttled_periods },
  { name: 'container_cpu_cfs_throttled_seconds_total', help: 'Total time duration the container has been throttled.', type: 'counter', value: (_e, s) => s.cpu.throttled_ns / NS },
  { name: 'container_memory_usage_bytes', help: 'Current memory usage in bytes, including all memory regardless of when it was accessed.', type: 'gauge', value: (_e, s) => s.memory.usage },
  { name: 'container_memory_working_set_bytes', help: 'Current working set in bytes.', type: 'gauge', value: (_e, s) => s.memory.working_set },
  { name: 'container_memory_rss', help: 'Size of RSS in bytes.', type: 'gauge', value: (_e, s) => s.memory.rss },
  { name: 'container_memory_cache', help: 'Number of bytes of page cache memory.', type: 'gauge', value: (_e, s) => s.memory.cache },
  { name: 'container_spec_memory_limit_bytes', help: 'Memory limit for the container (0 when unlimited).', type: 'gauge', value: (_e, s) => s.memory.limit },
  // Where the engine reports them (max_usage and swap: cgroup v1; swap only with swap accounting).
  { name: 'container_memory_max_usage_bytes', help: 'Maximum memory usage recorded in bytes.', type: 'gauge', value: (_e, s) => s.memory.max_usage },
  { name: 'container_memory_swap', help: 'Container swap usage in bytes.', type: 'gauge', value: (_e, s) => s.memory.swap },
  { name: 'container_memory_mapped_file', help: 'Size of memory mapped files in bytes.', type: 'gauge', value: (_e, s) => s.memory.mapped_file },
  { name: 'container_spec_memory_swap_limit_bytes', help: 'Memory swap limit for the container: memory + swap, as Docker sets it (0 when unlimited).', type: 'gauge', value: (_e, s) => s.spec?.memory_swap },
  // A counter in cAdvisor, without the _total suffix promtool requires of one: typed a gauge here (rate() works on both).
  { name: 'container_memory_failcnt', help: 'Number of memory usage hits limits.', type: 'gauge', value: (_e, s) => s.memory.failcnt },
  { name: 'container_spec_memory_reservation_limit_bytes', help: 'Memory reservation for the container (0 when none).', type: 'gauge', value: (_e, s) => s.spec?.memory_reservation },
  { name: 'container_spec_cpu_period', help: 'CPU period of the container.', type: 'gauge', value: (_e, s) => s.spec?.cpu_period },
  // As cAdvisor: only for a container with a quota.
  { name: 'container_spec_cpu_quota', help: 'CPU quota of the container.', type: 'gauge', value: (_e, s) => (s.spec?.cpu_quota ? s.spec.cpu_quota : undefined) },
  { name: 'container_spec_cpu_shares', help: 'CPU share of the container.', type: 'gauge', value: (_e, s) => s.spec?.cpu_shares },
  { name: 'container_network_receive_bytes_total', help: 'Cumulative count of bytes received.', type: 'counter', extra: ['interface'], value: net('rx', 'bytes') },
  { name: 'container_network_receive_packets_total', help: 'Cumulative count of packets received.', type: 'counter', extra: ['interface'], value: net('rx', 'packets') },
  { name: 'container_network_receive_errors_total', help: 'Cumulative count of errors encountered while receiving.', type: 'counter', extra: ['interface'], value: net('rx', 'errors') },
  { name: 'container_network_receive_packets_dropped_total', help: 'Cumulative count of packets dropped while receiving.', type: 'counter', extra: ['interface'], value: net('rx', 'dropped') },
  { name: 'container_network_transmit_bytes_total', help: 'Cumulative count of bytes transmitted.', type: 'counter', extra: ['interface'], value: net('tx', 'bytes') },
  { name: 'container_network_transmit_packets_total', help: 'Cumulative count of packets transmitted.', type: 'counter', extra: ['interface'], value: net('tx', 'packets') },
  { name: 'container_network_transmit_errors_total', help: 'Cumulative count of errors encountered while transmitting.', type: 'counter', extra: ['interface'], value: net('tx', 'errors') },
  { name: 'container_network_transmit_packets_dropped_total', help: 'Cumulative count of packets dropped while transmitting.', type: 'counter', extra: ['interface'], value: net('tx', 'dropped') },
  { name: 'container_fs_reads_bytes_total', help: 'Cumulative count of bytes read.', type: 'counter', extra: ['device'], value: blk('read_bytes') },
  { name: 'container_fs_writes_bytes_total', help: 'Cumulative count of bytes written.', type: 'counter', extra: ['device'], value: blk('write_bytes') },
  { name: 'container_processes', help: 'Number of processes running inside the container.', type: 'gauge', value: (_e, s) => s.pids },
];

/** Registers the container metrics; values are read from `state` at scrape time. */
export function registerCadvisorMetrics(registry: Registry, state: CadvisorState): void {
  const base = state.labelNames;
  for (const d of DEFS) {
    const labelNames = [...base, ...(d.extra ?? [])];
    const collect = function (this: Gauge | Counter) {
      this.reset();
      for (const e of state.live()) {
        if (!e.sample) continue;
        const v = d.value(e, e.sample);
        if (v === undefined) continue;
        const l = state.labelsOf(e);
        if (Array.isArray(v)) for (const [extra, val] of v) set(this, { ...l, ...extra }, val);
        else set(this, l, v);
      }
    };
    if (d.type === 'counter') new Counter({ name: d.name, help: d.help, labelNames, registers: [registry], collect });
    else new Gauge({ name: d.name, help: d.help, labelNames, registers: [registry], collect });
  }
  new Gauge({
    name: 'container_last_seen',
    help: 'Last time a container was seen by the exporter (unix seconds).',
    labelNames: base,
    registers: [registry],
    collect() {
      this.reset();
      for (const e of state.live()) this.set(state.labelsOf(e), Math.floor(e.lastSeenMs / 1000));
    },
  });
  new Gauge({
    name: 'container_start_time_seconds',
    help: 'Start time of the container since unix epoch in seconds.',
    labelNames: base,
    registers: [registry],
    collect() {
      this.reset();
      for (const e of state.live()) if (e.startedSec) this.set(state.labelsOf(e), e.startedSec);
    },
  });
  new Counter({
    name: 'container_oom_events_total',
    help: 'Count of out of memory events observed for the container.',
    labelNames: base,
    registers: [registry],
    collect() {
      this.reset();
      for (const e of state.live()) this.inc(state.labelsOf(e), e.oomEvents);
    },
  });
  // Per host, from its newest stats sample that says (the agent sends `docker info`'s figures).
  const machine = (name: string, help: string, pick: (m: MachineFacts) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['host'],
      registers: [registry],
      collect() {
        this.reset();
        const newest = new Map<string, StatsRecord>();
        for (const e of state.live()) {
          const s = e.sample;
          if (!s?.machine) continue;
          const seen = newest.get(e.host);
          if (!seen || seen.ts < s.ts) newest.set(e.host, s);
        }
        for (const [host, s] of newest) this.set({ host }, pick(s.machine as MachineFacts));
      },
    });
  machine('machine_cpu_cores', 'Number of logical CPU cores.', (m) => m.cpu_cores);
  machine('machine_memory_bytes', 'Amount of memory installed on the machine.', (m) => m.memory_bytes);
  new Gauge({
    name: 'container_health_state',
    // cAdvisor's encoding (google/cadvisor 692ca300), so its rules (`== 0`) work unchanged.
    help: 'Docker health check state: 1 healthy, 0 unhealthy or starting, -1 no health check seen.',
    labelNames: base,
    registers: [registry],
    collect() {
      this.reset();
      for (const e of state.live()) this.set(state.labelsOf(e), healthValue(e.health));
    },
  });
}

/** cAdvisor's container_health_state value of a Docker health status. */
export function healthValue(health: string | undefined): number {
  if (!health) return -1;
  return health === 'healthy' ? 1 : 0;
}

function set(m: Gauge | Counter, labels: Record<string, string>, v: number): void {
  if (m instanceof Counter) m.inc(labels, v);
  else m.set(labels, v);
}
