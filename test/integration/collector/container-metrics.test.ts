/**
 * Container stats and lifecycle events from the real dockerd, through the agent and Kafka, to
 * the collector's cAdvisor-compatible /metrics, scraped by a real Prometheus (Debian package):
 * CPU of a busy container near one core (as `docker stats` shows), memory in the working set,
 * an OOM kill counted, a die event's exit code stored, the health state in cAdvisor's encoding,
 * resource settings (container_spec_*),
 * counters and health restored after a restart; and the awesome-prometheus-alerts cAdvisor
 * group, run by promtool on the label sets this Prometheus holds from the exposition.
 * One file (~330 lines): every case reads the same running pipeline and Prometheus, which take
 * most of a minute to start; split apart, each file would start its own.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolve } from 'node:path';
import { cpus } from 'node:os';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, tempDir, type AgentProcess } from '../../helpers/agent-process.js';
import { runCleanups } from '../../helpers/cleanup.js';
import { docker, dockerApi, removeContainers, runContainer } from '../../helpers/docker.js';
import { waitFor } from '../../helpers/kafka-read.js';
import { startPipeline } from '../../helpers/pipeline.js';
import type { ChdbEndpoint } from '../../helpers/store.js';
import { freePorts } from '../../helpers/ports.js';

const run = promisify(execFile);
const cleanups: (() => Promise<void> | void)[] = [];
let collector: AgentProcess;
let ep: ChdbEndpoint;
let prom: ChildProcess | undefined;
let promUrl = '';
const ids: Record<string, string> = {};
const prefix = `t-${randomUUID()}`;
const group = `g-${randomUUID()}`;

afterAll(async () => {
  prom?.kill('SIGTERM');
  await runCleanups(cleanups);
});

async function scrape(): Promise<string> {
  return (await fetch(`${collector.url}/metrics`)).text();
}

function value(text: string, name: string, match: string): number | undefined {
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) && line.includes(match)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  return undefined;
}

async function promQuery(q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  expect(r.status).toBe('success');
  return r.data.result;
}

beforeAll(async () => {
  const pl = await startPipeline({ prefix, group, agentEnv: { SHIPLOG_STATS_INTERVAL: '2s' } }, cleanups);
  ({ collector, ep } = pl);
  const { scope } = pl;
  const specs = {
    burner: { script: 'while :; do :; done' },
    // /dev/shm is a tmpfs charged to the container's memory.
    hog: { script: 'head -c 60m /dev/zero > /dev/shm/fill; sleep 600' },
    oomer: { script: "sleep 2; head -c 300m /dev/zero | tail", memory: '32m' },
    exiter: { script: 'sleep 1; exit 3' },
    limited: { script: 'sleep 600', flags: ['--cpus', '0.5', '--cpu-shares', '512', '--memory-reservation', '16m', '--memory', '48m', '--memory-swap', '96m'] },
  };
  for (const [name, s] of Object.entries(specs)) {
    const labels = { ...scope.labels, 'com.docker.compose.service': name };
    if (name === 'exiter') {
      // Also exercises a health check: a health_status event per change.
      const id = await docker(['run', '-d', '--network', 'none', '--health-cmd', 'true', '--health-interval', '1s', ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]), 'shiplog-test/busybox:latest', 'sh', '-c', 'sleep 4; exit 3']);
      ids[name] = id;
    } else if ('flags' in s) {
      ids[name] = await docker(['run', '-d', '--network', 'none', ...s.flags, ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]), 'shiplog-test/busybox:latest', 'sh', '-c', s.script]);
    } else if ('memory' in s) {
      const id = await docker(['run', '-d', '--network', 'none', '-m', s.memory, '--memory-swap', s.memory, ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]), 'shiplog-test/busybox:latest', 'sh', '-c', s.script]);
      ids[name] = id;
    } else ids[name] = (await runContainer({ script: s.script, labels })).id;
  }
  cleanups.push(() => removeContainers(Object.values(ids)));
  // A real Prometheus scraping the collector every second.
  const pdir = tempDir('shiplog-prom-');
  cleanups.push(pdir.cleanup);
  const target = new URL(collector.url).host;
  // The shipped scrape config's relabelling (each container series' instance is its host).
  const shipped = readFileSync(resolve(import.meta.dirname, '../../../deploy/prometheus/prometheus.yml'), 'utf8');
  const relabel = (/\n( {4}metric_relabel_configs:\n(?: {6}.*\n)+)/.exec(shipped) ?? ['', ''])[1];
  expect(relabel).toContain('target_label: instance');
  writeFileSync(`${pdir.dir}/prometheus.yml`, `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n  - job_name: shiplog\n    static_configs: [ { targets: ['${target}'] } ]\n${relabel}`);
  const port = await freePorts();
  promUrl = `http://127.0.0.1:${port}`;
  prom = spawn('prometheus', [`--config.file=${pdir.dir}/prometheus.yml`, `--storage.tsdb.path=${pdir.dir}/data`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  await waitFor(async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.ok === true, 60_000, 'Prometheus to start');
}, 180_000);

describe('container metrics (cAdvisor names) from the real dockerd', () => {
  it("a busy container's CPU counter follows the engine's own: rising, never ahead of it, behind by no more than the time since the sample", async () => {
    const id = ids.burner as string;
    await waitFor(async () => (value(await scrape(), 'container_cpu_usage_seconds_total', id) ?? 0) > 2, 60_000, 'cpu samples');
    // Rate over the samples' own times (container_last_seen), not over when we scraped.
    const s1 = await scrape();
    const [a, ta] = [value(s1, 'container_cpu_usage_seconds_total', id) as number, value(s1, 'container_last_seen', id) as number];
    let b = a;
    let tb = ta;
    // At least 8 s between the two samples (sampling can lag when the machine is busy).
    await waitFor(async () => {
      const s2 = await scrape();
      [b, tb] = [value(s2, 'container_cpu_usage_seconds_total', id) as number, value(s2, 'container_last_seen', id) as number];
      return tb - ta >= 8;
    }, 60_000, 'two samples 8 s apart');
    // The engine's cumulative CPU time for the container, read after our sample. Properties,
    // not speeds: how much of the two cores the burner gets depends on what else runs.
    const engine = (await dockerApi<{ cpu_stats: { cpu_usage: { total_usage: number } } }>(`/containers/${id}/stats?stream=false&one-shot=true`)).cpu_stats.cpu_usage.total_usage / 1e9;
    const since = Date.now() / 1000 - tb + 1; // last_seen has one-second resolution
    const cores = (b - a) / (tb - ta);
    expect(cores).toBeGreaterThan(0); // busy, and counted
    expect(cores).toBeLessThanOrEqual(cpus().length * 1.05); // no more than the machine has
    expect(b).toBeLessThanOrEqual(engine + 1e-6); // never ahead of the engine
    expect(engine - b).toBeLessThanOrEqual(since * cpus().length); // behind only by what it could burn since
  });

  it('memory in use shows in the working set; the limit is 0 when unlimited; peak and mapped files where the engine has them; block I/O by device', async () => {
    await waitFor(async () => (value(await scrape(), 'container_memory_working_set_bytes', ids.hog as string) ?? 0) > 40 * 2 ** 20, 60_000, 'the hog to hold 60 MiB');
    const text = await scrape();
    expect(value(text, 'container_spec_memory_limit_bytes', ids.hog as string)).toBe(0);
    const engine = (await dockerApi<{ memory_stats: { max_usage?: number; usage: number; stats?: Record<string, number> } }>(`/containers/${ids.hog}/stats?stream=false&one-shot=true`)).memory_stats;
    const mapped = engine.stats?.total_mapped_file ?? engine.stats?.mapped_file ?? engine.stats?.file_mapped;
    if (mapped !== undefined) expect(value(text, 'container_memory_mapped_file', ids.hog as string)).toBeGreaterThanOrEqual(0);
    // cgroup v1 reports a peak (v2 does not): at least what the hog holds.
    if (engine.max_usage !== undefined) expect(value(text, 'container_memory_max_usage_bytes', ids.hog as string)).toBeGreaterThan(40 * 2 ** 20);
    else expect(value(text, 'container_memory_max_usage_bytes', ids.hog as string)).toBeUndefined();
    // Every block I/O series names its device; this engine reports no per-device figures (its
    // cgroup charges no block I/O to containers here), so the totals carry device="".
    const fs = text.split('\n').filter((l) => l.startsWith('container_fs_reads_bytes_total{') && l.includes(ids.hog as string));
    expect(fs.length).toBeGreaterThan(0);
    for (const l of fs) expect(l).toMatch(/device="(\/dev\/[^"]+|\d+:\d+|)"/);
  });

  it("resource settings as cAdvisor's container_spec_*: --cpus as a quota over the 100 ms period, shares, reservation; no quota series without one", async () => {
    const id = ids.limited as string;
    await waitFor(async () => value(await scrape(), 'container_spec_cpu_quota', id) !== undefined, 60_000, 'a stats sample of the limited container');
    const text = await scrape();
    expect(value(text, 'container_spec_cpu_quota', id)).toBe(50_000);
    expect(value(text, 'container_spec_cpu_period', id)).toBe(100_000);
    expect(value(text, 'container_spec_cpu_shares', id)).toBe(512);
    expect(value(text, 'container_spec_memory_reservation_limit_bytes', id)).toBe(16 * 2 ** 20);
    expect(value(text, 'container_memory_failcnt', id)).toBeGreaterThanOrEqual(0);
    // Memory + swap as the engine applies it: 96m, or unlimited (-1, so 0) on a kernel without swap accounting.
    const hc = (await dockerApi<{ HostConfig: { MemorySwap: number } }>(`/containers/${id}/json`)).HostConfig;
    expect(value(text, 'container_spec_memory_swap_limit_bytes', id)).toBe(hc.MemorySwap > 0 ? hc.MemorySwap : 0);
    expect(value(text, 'container_spec_memory_limit_bytes', id)).toBe(48 * 2 ** 20);
    const burner = ids.burner as string;
    await waitFor(async () => value(await scrape(), 'container_spec_cpu_shares', burner) !== undefined, 60_000, 'a stats sample of the burner');
    expect(value(await scrape(), 'container_spec_cpu_quota', burner)).toBeUndefined();
    expect(value(await scrape(), 'container_spec_cpu_shares', burner)).toBe(1024);
    expect(value(await scrape(), 'container_spec_memory_reservation_limit_bytes', burner)).toBe(0);
  });

  it("machine_cpu_cores and machine_memory_bytes per host are the engine's own (docker info)", async () => {
    const info = await dockerApi<{ NCPU: number; MemTotal: number; Name: string }>('/info');
    const host = `host="${info.Name}"`;
    await waitFor(async () => value(await scrape(), 'machine_cpu_cores', host) !== undefined, 60_000, 'machine figures in a stats sample');
    const text = await scrape();
    expect(value(text, 'machine_cpu_cores', host)).toBe(info.NCPU);
    expect(value(text, 'machine_memory_bytes', host)).toBe(info.MemTotal);
  });

  it('an OOM kill is an oom event and counts in container_oom_events_total; die carries the exit code', async () => {
    await waitFor(async () => (value(await scrape(), 'container_oom_events_total', ids.oomer as string) ?? 0) >= 1, 60_000, 'the OOM event');
    await waitFor(async () => (await ep.query(`SELECT 1 FROM shiplog.container_events WHERE ContainerId = '${ids.exiter}' AND Action = 'die'`)).length > 0, 60_000, 'the die event stored');
    const [die] = await ep.query<{ code: number }>(`SELECT ExitCode AS code FROM shiplog.container_events WHERE ContainerId = '${ids.exiter}' AND Action = 'die'`);
    expect(die?.code).toBe(3);
    const [health] = await ep.query<{ h: string }>(`SELECT Health AS h FROM shiplog.container_events WHERE ContainerId = '${ids.exiter}' AND Action = 'health_status'`);
    expect(health?.h).toBe('healthy');
    // cAdvisor's encoding: 1 healthy; -1 for a container without a health check.
    await waitFor(async () => value(await scrape(), 'container_health_state', ids.exiter as string) === 1, 60_000, 'the health state in the exposition');
    expect(value(await scrape(), 'container_health_state', ids.burner as string)).toBe(-1);
    const [oomDie] = await ep.query<{ code: number }>(`SELECT ExitCode AS code FROM shiplog.container_events WHERE ContainerId = '${ids.oomer}' AND Action = 'die'`);
    expect(oomDie?.code).toBe(137);
  });

  it('Prometheus scrapes it; the cAdvisor dashboard queries return data; promtool finds the exposition clean', async () => {
    await waitFor(async () => (await promQuery('count(container_last_seen{image!=""})')).length > 0, 60_000, 'Prometheus to have samples');
    // Relabelled as deploy/prometheus/prometheus.yml does: a container series' instance is its host; the collector's own keep its address.
    const seen = await promQuery('container_last_seen{image!=""}');
    expect(seen.length).toBeGreaterThan(0);
    for (const s of seen) expect(s.metric.instance).toBe(s.metric.host);
    const own = await promQuery('shiplog_collector_storage_up');
    expect(own[0]?.metric.instance).toBe(new URL(collector.url).host);
    await new Promise((r) => setTimeout(r, 6000));
    expect(Number((await promQuery('count(container_last_seen{image!=""})'))[0]?.value[1])).toBeGreaterThanOrEqual(3);
    expect(Number((await promQuery('sum(container_memory_usage_bytes{image!=""})'))[0]?.value[1])).toBeGreaterThan(0);
    const user = await promQuery(`rate(container_cpu_user_seconds_total{name=~".+",container_label_com_docker_compose_service="burner"}[5s])`);
    expect(user.length).toBe(1);
    // Containers here run without a network: the query parses and returns an empty vector.
    await promQuery('irate(container_network_receive_bytes_total{image!=""}[5m])');
    const { stdout } = await run('bash', ['-c', `curl -s ${collector.url}/metrics | promtool check metrics`]).catch((e: { stdout: string; stderr: string }) => ({ stdout: `${e.stdout}${e.stderr}` }));
    expect(stdout.trim()).toBe('');
  });

  it('the awesome-prometheus-alerts cAdvisor group fires per container and host on the label sets Prometheus holds (promtool)', async () => {
    // The label sets of the limited container's series, as Prometheus stored them from our
    // exposition through the shipped relabelling; values are made per scenario below.
    const id = ids.limited as string;
    const labelsOf = async (metric: string): Promise<Record<string, string>> => {
      let got: Record<string, string>[] = [];
      await waitFor(async () => {
        const r = (await (await fetch(`${promUrl}/api/v1/series?match[]=${encodeURIComponent(`${metric}{id="/docker/${id}"}`)}`)).json()) as { data: Record<string, string>[] };
        got = r.data;
        return got.length > 0;
      }, 60_000, `${metric} of the limited container in Prometheus`);
      const { __name__: _, ...labels } = got[0] as Record<string, string>;
      return labels;
    };
    const L = await labelsOf('container_last_seen');
    // Per-host identity where the rules look for it: instance (by (instance, name)), pod and container (by (pod, container)).
    expect([L.instance, L.pod, L.container]).toEqual([L.host, L.host, L.name]);
    const other = (l: Record<string, string>) => ({ ...l, host: 'other-host', instance: 'other-host', pod: 'other-host' });
    const sel = (metric: string, l: Record<string, string>) => `${metric}{${Object.entries(l).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
    const M: Record<string, Record<string, string>> = {};
    for (const m of ['container_cpu_usage_seconds_total', 'container_spec_cpu_quota', 'container_spec_cpu_period', 'container_cpu_cfs_periods_total', 'container_cpu_cfs_throttled_periods_total', 'container_memory_working_set_bytes']) M[m] = await labelsOf(m);
    // The limited container has no memory limit; the series' labels are the same for one that has.
    M.container_spec_memory_limit_bytes = await labelsOf('container_spec_memory_limit_bytes');
    M.container_last_seen = L;
    const both = (metric: string, here: string, there: string) => [
      { series: sel(metric, M[metric] as Record<string, string>), values: here },
      { series: sel(metric, other(M[metric] as Record<string, string>)), values: there },
    ];
    const pick = (l: Record<string, string>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, l[k] as string]));
    const long = 7 * 24 * 60 + 60;
    const tests = [
      {
        // Here: stops being seen at 10 min, memory at 95 % of its limit, 0.45 core of a 0.5 quota, half its periods throttled.
        // The same-named container on the other host: seen, 10 % memory, 0.05 core, 1 % throttled.
        interval: '1m',
        input_series: [
          ...both('container_last_seen', '0+60x10 600x30', '0+60x40'),
          ...both('container_memory_working_set_bytes', '95x40', '10x40'),
          ...both('container_spec_memory_limit_bytes', '100x40', '100x40'),
          ...both('container_cpu_usage_seconds_total', '0+27x40', '0+3x40'),
          ...both('container_spec_cpu_quota', '50000x40', '50000x40'),
          ...both('container_spec_cpu_period', '100000x40', '100000x40'),
          ...both('container_cpu_cfs_periods_total', '0+600x40', '0+600x40'),
          ...both('container_cpu_cfs_throttled_periods_total', '0+300x40', '0+6x40'),
        ],
        alert_rule_test: [
          { eval_time: '15m', alertname: 'ContainerKilled', exp_alerts: [{ exp_labels: { ...L, severity: 'warning' } }] },
          { eval_time: '15m', alertname: 'ContainerHighMemoryUsage', exp_alerts: [{ exp_labels: { ...pick(L, ['instance', 'name']), severity: 'warning' } }] },
          { eval_time: '15m', alertname: 'ContainerHighCpuUtilization', exp_alerts: [{ exp_labels: { ...pick(L, ['pod', 'container']), severity: 'warning' } }] },
          { eval_time: '15m', alertname: 'ContainerHighThrottleRate', exp_alerts: [{ exp_labels: { ...pick(L, ['pod', 'container']), severity: 'warning' } }] },
          { eval_time: '15m', alertname: 'ContainerAbsent', exp_alerts: [] },
        ],
      },
      {
        // Here: idle, then 0.6 core from minute 10. The other host: a steady 0.1 core.
        interval: '1m',
        input_series: both('container_cpu_usage_seconds_total', '0x10 0+36x20', '0+6x30'),
        alert_rule_test: [
          { eval_time: '9m', alertname: 'ContainerHighLowChangeCpuUsage', exp_alerts: [] },
          { eval_time: '12m', alertname: 'ContainerHighLowChangeCpuUsage', exp_alerts: [{ exp_labels: { ...pick(L, ['instance', 'name']), severity: 'info' } }] },
        ],
      },
      {
        // No container series at all.
        interval: '1m',
        input_series: [{ series: sel('machine_cpu_cores', { host: L.host as string, instance: L.host as string }), values: '2x10' }],
        alert_rule_test: [
          { eval_time: '3m', alertname: 'ContainerAbsent', exp_alerts: [] },
          { eval_time: '7m', alertname: 'ContainerAbsent', exp_alerts: [{ exp_labels: { severity: 'warning' } }] },
        ],
      },
      {
        // A week: here 0.05 core of a 0.5 quota and 10 % of its memory; the other host busy (0.45 core, 95 %).
        interval: '1m',
        input_series: [
          ...both('container_cpu_usage_seconds_total', `0+3x${long}`, `0+27x${long}`),
          ...both('container_spec_cpu_quota', `50000x${long}`, `50000x${long}`),
          ...both('container_spec_cpu_period', `100000x${long}`, `100000x${long}`),
          ...both('container_memory_working_set_bytes', `10x${long}`, `95x${long}`),
          ...both('container_spec_memory_limit_bytes', `100x${long}`, `100x${long}`),
        ],
        alert_rule_test: [
          { eval_time: '6d', alertname: 'ContainerLowCpuUtilization', exp_alerts: [] },
          { eval_time: '7d50m', alertname: 'ContainerLowCpuUtilization', exp_alerts: [{ exp_labels: { ...pick(L, ['pod', 'container']), severity: 'info' } }] },
          { eval_time: '7d50m', alertname: 'ContainerLowMemoryUsage', exp_alerts: [{ exp_labels: { ...pick(L, ['instance', 'name']), severity: 'info' } }] },
        ],
      },
    ];
    // Rules whose data Docker's API does not give (cAdvisor reads it from the host's filesystems).
    const noData: Record<string, string> = { ContainerVolumeUsage: 'container_fs_inodes_free/total: inode counts of a container\'s filesystems are not in the Engine API' };
    expect((await scrape()).includes('container_fs_inodes_')).toBe(false);
    const fixture = readFileSync(resolve(import.meta.dirname, '../../fixtures/awesome-prometheus-alerts/google-cadvisor.yml'), 'utf8');
    const names = [...fixture.matchAll(/- alert: (\w+)/g)].map((m) => m[1] as string);
    const tested = new Set(tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    expect(names.filter((n) => !tested.has(n) && !noData[n])).toEqual([]);
    expect(names).toHaveLength(9);
    // The rules as published, less their annotations (text for people; promtool would compare the rendered text).
    const dir = tempDir('shiplog-apa-');
    cleanups.push(dir.cleanup);
    let inAnnotations = false;
    const rules = fixture.split('\n').filter((l) => {
      if (/^ {6}annotations:/.test(l)) inAnnotations = true;
      else if (!/^ {8}/.test(l)) inAnnotations = false;
      return !inAnnotations;
    });
    writeFileSync(join(dir.dir, 'rules.yml'), rules.join('\n'));
    writeFileSync(join(dir.dir, 'test.yml'), JSON.stringify({ rule_files: ['rules.yml'], evaluation_interval: '1m', tests }));
    const check = await run('promtool', ['check', 'rules', join(dir.dir, 'rules.yml')]);
    expect(check.stdout).toContain('SUCCESS: 9 rules found');
    const res = await run('promtool', ['test', 'rules', join(dir.dir, 'test.yml')]).catch((e: { stdout: string; stderr: string }) => ({ stdout: `${e.stdout}${e.stderr}`, stderr: '' }));
    expect(res.stdout).not.toContain('FAILED');
    expect(res.stdout).toContain('SUCCESS');
  }, 180_000);

  it('after a collector restart the counters continue from storage instead of starting at 0', async () => {
    const before = value(await scrape(), 'container_cpu_usage_seconds_total', ids.burner as string) as number;
    await collector.stop();
    const restarted = await startCollector({ SHIPLOG_CLICKHOUSE_URL: ep.url, SHIPLOG_KAFKA_TOPIC_PREFIX: prefix, SHIPLOG_COLLECTOR_GROUP: group });
    cleanups.push(async () => void (await restarted.stop()));
    collector = restarted;
    await waitFor(async () => (await fetch(`${collector.url}/readyz`)).status === 200, 60_000, 'the restarted collector to be ready');
    const first = value(await scrape(), 'container_cpu_usage_seconds_total', ids.burner as string);
    expect(first).toBeGreaterThanOrEqual(before);
    expect(value(await scrape(), 'container_oom_events_total', ids.oomer as string)).toBeGreaterThanOrEqual(1);
    // The last health status, from the stored events (Docker tells it only when it changes).
    expect(value(await scrape(), 'container_health_state', ids.exiter as string)).toBe(1);
    expect(value(await scrape(), 'container_health_state', ids.burner as string)).toBe(-1);
  });
});
