import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { EventRecord, StatsRecord } from '../../../../collector/ingest/aux-rows.js';
import { CadvisorState, registerCadvisorMetrics, sanitizeLabel } from '../../../../collector/metrics/cadvisor.js';

const container = { id: 'a'.repeat(64), name: 'web-1', image: 'nginx:1.27', labels: { 'com.docker.compose.service': 'web', secret: 'x' } };
const sample = (ts: string, cpuNs: number): StatsRecord => ({
  v: 1, type: 'stats', host: 'h1', container, ts,
  cpu: { total_ns: cpuNs, user_ns: cpuNs / 2, system_ns: cpuNs / 4, periods: 0, throttled_periods: 0, throttled_ns: 0 },
  memory: { usage: 100, working_set: 80, rss: 50, cache: 20, limit: 0 },
  networks: { eth0: { rx_bytes: 10, rx_packets: 1, rx_errors: 0, rx_dropped: 0, tx_bytes: 20, tx_packets: 2, tx_errors: 0, tx_dropped: 0 } },
  blkio: { read_bytes: 1, write_bytes: 2 }, pids: 3,
});

describe('cAdvisor-compatible metrics', () => {
  it('exports cAdvisor names, types and labels from the latest sample', async () => {
    const state = new CadvisorState(300_000, ['com.docker.compose.service']);
    const reg = new Registry();
    registerCadvisorMetrics(reg, state);
    const now = new Date().toISOString();
    state.onStats(sample(now, 2_500_000_000), 0);
    state.onEvent({ v: 1, type: 'event', host: 'h1', container, action: 'oom', time_nano: String(BigInt(Date.now()) * 1_000_000n), attributes: {} } as EventRecord, 0);
    const text = await reg.metrics();
    expect(text).toContain('# TYPE container_cpu_usage_seconds_total counter');
    expect(text).toContain(`container_cpu_usage_seconds_total{id="/docker/${container.id}",name="web-1",image="nginx:1.27",host="h1",container_label_com_docker_compose_service="web",cpu="total"} 2.5`);
    expect(text).toContain('# TYPE container_memory_working_set_bytes gauge');
    expect(text).toMatch(/container_network_receive_bytes_total\{[^}]*interface="eth0"\} 10/);
    expect(text).toMatch(/container_oom_events_total\{[^}]*\} 1/);
    expect(text).toMatch(/container_spec_memory_limit_bytes\{[^}]*\} 0/);
    // Only allow-listed labels become label names.
    expect(text).not.toContain('container_label_secret');
  });

  it('ignores an older sample redelivered after a newer one (counters never go back)', async () => {
    const state = new CadvisorState(300_000, []);
    const reg = new Registry();
    registerCadvisorMetrics(reg, state);
    const t = Date.now();
    state.onStats(sample(new Date(t).toISOString(), 5e9), 0);
    state.onStats(sample(new Date(t - 10_000).toISOString(), 4e9), 0);
    expect(await reg.metrics()).toMatch(/container_cpu_usage_seconds_total\{[^}]*\} 5\n/);
  });

  it("health in cAdvisor's encoding: -1 with no check seen, 1 healthy, 0 unhealthy, 0 again (starting) after a restart", async () => {
    const state = new CadvisorState(300_000, []);
    const reg = new Registry();
    registerCadvisorMetrics(reg, state);
    const health = async () => /container_health_state\{[^}]*\} (-?\d+)/.exec(await reg.metrics())?.[1];
    const event = (action: string, h?: string) => state.onEvent({ v: 1, type: 'event', host: 'h1', container, action, health: h, time_nano: String(BigInt(Date.now()) * 1_000_000n), attributes: {} } as EventRecord, 0);
    state.onStats(sample(new Date().toISOString(), 1), 0);
    expect(await health()).toBe('-1');
    event('start');
    expect(await health()).toBe('-1');
    event('health_status', 'healthy');
    expect(await health()).toBe('1');
    event('health_status', 'unhealthy');
    expect(await health()).toBe('0');
    event('health_status', 'healthy');
    event('start');
    expect(await health()).toBe('0');
  });

  it('resource settings from the sample as container_spec_*; the quota only when there is one', async () => {
    const state = new CadvisorState(300_000, []);
    const reg = new Registry();
    registerCadvisorMetrics(reg, state);
    state.onStats({ ...sample(new Date().toISOString(), 1), spec: { cpu_period: 100_000, cpu_quota: 0, cpu_shares: 1024, memory_reservation: 0 } }, 0);
    let text = await reg.metrics();
    expect(text).toMatch(/container_spec_cpu_period\{[^}]*\} 100000\n/);
    expect(text).toMatch(/container_spec_cpu_shares\{[^}]*\} 1024\n/);
    expect(text).not.toMatch(/container_spec_cpu_quota\{/);
    state.onStats({ ...sample(new Date(Date.now() + 1000).toISOString(), 1), spec: { cpu_period: 100_000, cpu_quota: 150_000, cpu_shares: 512, memory_reservation: 2 ** 24 } }, 0);
    text = await reg.metrics();
    expect(text).toMatch(/container_spec_cpu_quota\{[^}]*\} 150000\n/);
    expect(text).toMatch(/container_spec_memory_reservation_limit_bytes\{[^}]*\} 16777216\n/);
  });

  it("machine_* once per host, from the newest sample that carries the engine's figures", async () => {
    const state = new CadvisorState(300_000, []);
    const reg = new Registry();
    registerCadvisorMetrics(reg, state);
    const t = Date.now();
    state.onStats({ ...sample(new Date(t).toISOString(), 1), machine: { cpu_cores: 2, memory_bytes: 8e9 } }, 0);
    state.onStats({ ...sample(new Date(t + 1000).toISOString(), 1), container: { ...container, id: 'b'.repeat(64), name: 'db' }, machine: { cpu_cores: 4, memory_bytes: 16e9 } }, 0);
    state.onStats({ ...sample(new Date(t).toISOString(), 1), host: 'h2', container: { ...container, id: 'c'.repeat(64) } }, 0);
    const text = await reg.metrics();
    expect(text.match(/^machine_cpu_cores\{.*$/gm)).toEqual(['machine_cpu_cores{host="h1"} 4']);
    expect(text.match(/^machine_memory_bytes\{.*$/gm)).toEqual(['machine_memory_bytes{host="h1"} 16000000000']);
  });

  it('drops containers not seen within the TTL, and those on partitions no longer owned', () => {
    const state = new CadvisorState(60_000, []);
    state.onStats(sample(new Date(Date.now() - 120_000).toISOString(), 1), 0);
    expect(state.live()).toHaveLength(0);
    state.onStats(sample(new Date().toISOString(), 1), 3);
    expect(state.live()).toHaveLength(1);
    state.retainPartitions(new Set([1, 2]));
    expect(state.live()).toHaveLength(0);
  });

  it('sanitises label names as cAdvisor does', () => {
    expect(sanitizeLabel('com.docker.compose.project')).toBe('container_label_com_docker_compose_project');
    expect(sanitizeLabel('a-b/c')).toBe('container_label_a_b_c');
  });
});
