/**
 * Container resource samples from GET /containers/{id}/stats?stream=false&one-shot=true: one
 * short request per container per interval (no long-lived stream, no 1 s wait for a second
 * sample), reduced to the figures cAdvisor exports, computed as the docker CLI does.
 */
import type { DockerClient } from './client.js';

export interface StatsSample {
  /** Docker's read time (RFC 3339). */
  ts: string;
  cpu: { total_ns: number; user_ns: number; system_ns: number; online_cpus: number; periods: number; throttled_periods: number; throttled_ns: number };
  /** max_usage (cgroup v1 only), swap (v1 with swap accounting), mapped_file: present when Docker reports them. */
  memory: { usage: number; working_set: number; rss: number; cache: number; limit: number; failcnt: number; max_usage?: number; swap?: number; mapped_file?: number };
  networks: Record<string, { rx_bytes: number; rx_packets: number; rx_errors: number; rx_dropped: number; tx_bytes: number; tx_packets: number; tx_errors: number; tx_dropped: number }>;
  blkio: { read_bytes: number; write_bytes: number };
  /** Block I/O per device, keyed by major:minor (the agent names them, see deviceName). */
  blkio_devices: Record<string, { read_bytes: number; write_bytes: number }>;
  pids: number;
}

interface StatsJson {
  read?: string;
  cpu_stats?: {
    cpu_usage?: { total_usage?: number; usage_in_usermode?: number; usage_in_kernelmode?: number; percpu_usage?: number[] };
    online_cpus?: number;
    throttling_data?: { periods?: number; throttled_periods?: number; throttled_time?: number };
  };
  memory_stats?: { usage?: number; limit?: number; failcnt?: number; max_usage?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; rx_packets?: number; rx_errors?: number; rx_dropped?: number; tx_bytes?: number; tx_packets?: number; tx_errors?: number; tx_dropped?: number }>;
  blkio_stats?: { io_service_bytes_recursive?: { major?: number; minor?: number; op?: string; value?: number }[] | null };
  pids_stats?: { current?: number };
}

/** Reduces Docker's stats JSON (cgroup v1 or v2) to a sample. `hostMemory` tells an unlimited container apart. */
export function toSample(j: StatsJson, hostMemory: number): StatsSample {
  const m = j.memory_stats ?? {};
  const st = m.stats ?? {};
  const usage = m.usage ?? 0;
  // cgroup v1 has total_inactive_file, v2 inactive_file; the docker CLI and cAdvisor subtract it.
  const inactive = st.total_inactive_file ?? st.inactive_file ?? 0;
  const workingSet = inactive < usage ? usage - inactive : 0;
  const rss = st.total_rss ?? st.rss ?? st.anon ?? 0;
  const cache = st.total_cache ?? st.cache ?? st.file ?? 0;
  // No limit shows as (about) the host's memory; cAdvisor reports 0 then.
  const limit = m.limit && m.limit < hostMemory ? m.limit : 0;
  const cu = j.cpu_stats?.cpu_usage ?? {};
  const th = j.cpu_stats?.throttling_data ?? {};
  let read = 0;
  let write = 0;
  const devices: StatsSample['blkio_devices'] = {};
  for (const e of j.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = (e.op ?? '').toLowerCase();
    if (op !== 'read' && op !== 'write') continue;
    const v = e.value ?? 0;
    if (op === 'read') read += v;
    else write += v;
    if (e.major === undefined || e.minor === undefined) continue;
    const d = (devices[`${e.major}:${e.minor}`] ??= { read_bytes: 0, write_bytes: 0 });
    if (op === 'read') d.read_bytes += v;
    else d.write_bytes += v;
  }
  const optional = (v: number | undefined) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
  const extra = {
    max_usage: optional(m.max_usage),
    swap: optional(st.total_swap ?? st.swap),
    mapped_file: optional(st.total_mapped_file ?? st.mapped_file ?? st.file_mapped),
  };
  const networks: StatsSample['networks'] = {};
  for (const [name, n] of Object.entries(j.networks ?? {})) {
    networks[name] = {
      rx_bytes: n.rx_bytes ?? 0, rx_packets: n.rx_packets ?? 0, rx_errors: n.rx_errors ?? 0, rx_dropped: n.rx_dropped ?? 0,
      tx_bytes: n.tx_bytes ?? 0, tx_packets: n.tx_packets ?? 0, tx_errors: n.tx_errors ?? 0, tx_dropped: n.tx_dropped ?? 0,
    };
  }
  return {
    ts: j.read ?? new Date().toISOString(),
    cpu: {
      total_ns: cu.total_usage ?? 0,
      user_ns: cu.usage_in_usermode ?? 0,
      system_ns: cu.usage_in_kernelmode ?? 0,
      online_cpus: j.cpu_stats?.online_cpus ?? cu.percpu_usage?.length ?? 0,
      periods: th.periods ?? 0,
      throttled_periods: th.throttled_periods ?? 0,
      throttled_ns: th.throttled_time ?? 0,
    },
    memory: { usage, working_set: workingSet, rss, cache, limit, failcnt: m.failcnt ?? 0, ...Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined)) },
    networks,
    blkio: { read_bytes: read, write_bytes: write },
    blkio_devices: devices,
    pids: j.pids_stats?.current ?? 0,
  };
}

/** A sample, or undefined when the container is not running (Docker then answers with its zero time, 0001-01-01, and no figures). */
export async function sampleContainer(docker: DockerClient, id: string, hostMemory: number): Promise<StatsSample | undefined> {
  const j = (await docker.getJson(`/containers/${encodeURIComponent(id)}/stats`, { stream: false, 'one-shot': true })) as StatsJson;
  if (j.read?.startsWith('0001-')) return undefined;
  return toSample(j, hostMemory);
}
