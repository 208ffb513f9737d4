/**
 * The dashboards and alert rules against the real thing: a real Prometheus (with
 * deploy/prometheus/alerts.yml loaded) scraping a real collector fed by a real agent through
 * Kafka, containers on the real dockerd; ClickHouse SQL of the Logs dashboard, macros expanded
 * as grafana-clickhouse-datasource does, run against the real schema (chDB) and stored logs.
 *
 * Alert expressions are empty while all is well. The test makes the ones it can make true
 * here non-empty for real (CPU quota, memory near its limit, OOM kill, restart loop, unhealthy, agent/collector target down, a DLQ'd record, storage down); the rest
 * (NOT_MADE_HERE) fire in deploy/prometheus/alerts.test.yml (`promtool test rules`, run below).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DASHBOARDS } from '../../../dashboards/generate.js';
import { tempDir, type AgentProcess } from '../../helpers/agent-process.js';
import { runCleanups } from '../../helpers/cleanup.js';
import { docker, removeContainers } from '../../helpers/docker.js';
import { waitFor } from '../../helpers/kafka-read.js';
import { startPipeline } from '../../helpers/pipeline.js';
import type { ChdbEndpoint } from '../../helpers/store.js';
import { freePorts } from '../../helpers/ports.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');
const cleanups: (() => Promise<void> | void)[] = [];
let agent: AgentProcess;
let collector: AgentProcess;
let ep: ChdbEndpoint;
let prom: ChildProcess | undefined;
let promUrl = '';
const prefix = `o-${randomUUID().slice(0, 8)}`;
const names: Record<string, string> = {};

/** Alert expressions only true in situations this test cannot make; promtool's tests fire them. */
const NOT_MADE_HERE: Record<string, string> = {
  ContainerKilled: 'needs a container gone for over 60 s while its series is kept',
  ContainerHighCpu: 'needs a container above 0.9 core for minutes (this machine has 2 cores shared with the suite)',
  ShiplogAgentNotShipping: 'needs an agent reading while Kafka refuses everything for 10 minutes',
  ShiplogAgentProduceErrors: 'needs Kafka failing sends',
  ShiplogAgentDockerErrors: 'needs the Docker engine failing requests for minutes',
  ShiplogAgentBackpressure: 'needs Kafka slower than the logs for 15 minutes',
  ShiplogAgentCheckpointErrors: 'needs an unwritable data dir for minutes',
  ShiplogCollectorLagGrowing: 'needs more than 10,000 records of lag growing for 10 minutes',
  ShiplogDataDropped: 'needs a record too large for the topic even split, a full event queue or a DLQ refusing a record',
};

afterAll(async () => {
  prom?.kill('SIGTERM');
  await runCleanups(cleanups);
});

async function promQuery(q: string): Promise<{ status: string; error?: string; data?: { result: unknown[] } }> {
  return (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { status: string; data?: { result: unknown[] } };
}

/** Grafana's variables and interval macros for a PromQL expression, as the dashboards use them. */
function expandPromql(expr: string): string {
  return expr.replaceAll('$__rate_interval', '30s').replaceAll('$__range', '10m').replaceAll('$host', '.*').replaceAll('$name', '.*');
}

interface Rule {
  alert: string;
  expr: string;
}
function alertRules(): Rule[] {
  // The rules file is YAML; its `expr:` values are plain or `|` blocks, read without a YAML library.
  const text = readFileSync(resolve(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8');
  const out: Rule[] = [];
  for (const m of text.matchAll(/- alert: (\w+)\n(?:\s+#.*\n)*\s+expr: (\|\n((?:\s{10}.*\n)+)|.*\n)/g)) {
    const expr = m[3] ? m[3].split('\n').map((l) => l.trim()).join(' ') : (m[2] as string);
    out.push({ alert: m[1] as string, expr: expr.trim() });
  }
  return out;
}

/** The dashboards' PromQL, with where each comes from. */
function dashboardPromql(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const [file, make] of Object.entries(DASHBOARDS)) {
    const d = make() as { panels: { title: string; targets: { expr?: string }[] }[]; templating: { list: { name: string; query: unknown }[] } };
    for (const p of d.panels) for (const t of p.targets) if (t.expr) out.push({ where: `${file}: ${p.title}`, expr: t.expr });
  }
  return out;
}

beforeAll(async () => {
  const pl = await startPipeline({ prefix, group: `g-${prefix}`, agentEnv: { SHIPLOG_STATS_INTERVAL: '1s' }, collectorEnv: { SHIPLOG_COLLECTOR_BATCH_WAIT: '200ms' } }, cleanups);
  ({ agent, collector, ep } = pl);
  const { scope } = pl;
  // Prometheus first (as in real life: a counter's first increase must come after its first scrape):
  // the agent and the collector, plus one target of each job that is down.
  const pdir = tempDir('shiplog-prom-');
  cleanups.push(pdir.cleanup);
  const dead = '127.0.0.1:9';
  writeFileSync(
    `${pdir.dir}/prometheus.yml`,
    `global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: ['${resolve(ROOT, 'deploy/prometheus/alerts.yml')}']
scrape_configs:
  - job_name: shiplog-agent
    static_configs: [ { targets: ['${new URL(agent.url).host}', '${dead}'] } ]
  - job_name: shiplog-collector
    static_configs: [ { targets: ['${new URL(collector.url).host}', '${dead}'] } ]
`,
  );
  const port = await freePorts();
  promUrl = `http://127.0.0.1:${port}`;
  prom = spawn('prometheus', [`--config.file=${pdir.dir}/prometheus.yml`, `--storage.tsdb.path=${pdir.dir}/data`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  await waitFor(async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.ok === true, 60_000, 'Prometheus to start');
  await waitFor(async () => ((await promQuery('up{job=~"shiplog-.*"} == 1')).data?.result.length ?? 0) === 2, 60_000, 'Prometheus to scrape the agent and the collector');
  const labelArgs = Object.entries(scope.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const start = async (key: string, args: string[], script: string) => {
    const name = `${key}-${scope.value.slice(0, 6)}`;
    names[key] = name;
    await docker(['run', '-d', '--network', 'none', '--name', name, ...labelArgs, ...args, 'shiplog-test/busybox:latest', 'sh', '-c', script]);
  };
  // A quota small enough to be hit in most periods even on a loaded machine (the throttling alert needs a quarter of them).
  await start('quota', ['--cpus', '0.05'], 'while :; do :; done');
  await start('full', ['-m', '64m', '--memory-swap', '64m'], 'head -c 60m /dev/zero > /dev/shm/fill; sleep 600');
  // Killed a few seconds in, once the collector exports its series (an alert needs the counter's rise, not its first value).
  await start('oomer', ['-m', '32m', '--memory-swap', '32m'], 'sleep 6; head -c 300m /dev/zero | tail');
  await start('flappy', ['--restart', 'always'], 'echo starting; sleep 1; exit 1');
  await start('sick', ['--health-cmd', 'false', '--health-interval', '1s', '--health-retries', '1'], 'sleep 600');
  await start('chatty', [], "i=0; while :; do i=$((i+1)); echo \"INFO request $i served\"; [ $((i % 5)) -eq 0 ] && echo \"ERROR request $i failed\" >&2; usleep 100000; done");
  cleanups.push(async () => {
    await removeContainers(Object.values(names));
  });
  // A stats record from an agent on a networked host (here every container has --network none).
  const netId = 'e'.repeat(64);
  const stats = { v: 1, type: 'stats', host: 'nethost', ts: new Date().toISOString(), container: { id: netId, name: 'web-net', image: 'nginx', labels: {} }, cpu: { total_ns: 1e9, user_ns: 1e9, system_ns: 0, periods: 0, throttled_periods: 0, throttled_ns: 0 }, memory: { usage: 1, working_set: 1, rss: 1, cache: 0, limit: 0 }, networks: { eth0: { rx_bytes: 1000, rx_packets: 10, rx_errors: 0, rx_dropped: 0, tx_bytes: 2000, tx_packets: 20, tx_errors: 0, tx_dropped: 0 } }, blkio: { read_bytes: 0, write_bytes: 0 }, pids: 1 };
  const produce = async (topic: string, lines: string[]) => {
    const p = run('kcat', ['-b', inject('kafkaBrokers'), '-t', topic, '-P', '-K', '|']);
    p.child.stdin?.end(lines.join('\n') + '\n');
    await p;
  };
  const later = { ...stats, ts: new Date(Date.now() + 5000).toISOString(), networks: { eth0: { ...stats.networks.eth0, rx_bytes: 51000, tx_bytes: 102000 } } };
  await waitFor(async () => (await fetch(`${collector.url}/readyz`)).ok, 60_000, 'the collector to be ready');
  await produce(`${prefix}.stats`, [`${netId}|${JSON.stringify(stats)}`, `${netId}|${JSON.stringify(later)}`]);
  // A record no agent would write: it goes to the DLQ.
  await produce(`${prefix}.logs`, ['garbage|this is not a shiplog record']);

  // Enough samples for rates, the OOM kill and a few restarts.
  const nonEmpty = async (q: string) => ((await promQuery(q)).data?.result.length ?? 0) > 0;
  await waitFor(() => nonEmpty('increase(container_oom_events_total[10m]) > 0'), 120_000, 'an OOM kill in Prometheus');
  await waitFor(() => nonEmpty(`changes(container_start_time_seconds{name="${names.flappy}"}[10m]) >= 3`), 120_000, 'restarts in Prometheus');
  await waitFor(() => nonEmpty('increase(shiplog_collector_records_rejected_total[10m]) > 0'), 60_000, 'the DLQ\'d record in Prometheus');
  await waitFor(() => nonEmpty('rate(container_cpu_cfs_throttled_periods_total[30s]) > 0'), 60_000, 'CPU throttling in Prometheus');
  await new Promise((r) => setTimeout(r, 5000));
}, 240_000);

describe('dashboards and alert rules against a real Prometheus, collector, agent and dockerd', () => {
  it('every PromQL expression of every dashboard parses and returns data', async () => {
    const exprs = dashboardPromql();
    expect(exprs.length).toBeGreaterThan(30);
    const empty: string[] = [];
    for (const { where, expr } of exprs) {
      const r = await promQuery(expandPromql(expr));
      expect(r.status, `${where}: ${expr}: ${r.error}`).toBe('success');
      if ((r.data?.result.length ?? 0) === 0) empty.push(`${where}: ${expr}`);
    }
    expect(empty).toEqual([]);
  });

  it('the alert rules load and evaluate without errors; each expression parses', async () => {
    const r = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } };
    const rules = r.data.groups.flatMap((g) => g.rules);
    expect(rules.map((x) => x.name).sort()).toEqual(alertRules().map((x) => x.alert).sort());
    for (const rule of rules) expect(rule.health, `${rule.name}: ${rule.lastError}`).toBe('ok');
  });

  it('alert expressions become true for what goes wrong here (the rest fire in promtool tests)', async () => {
    // Storage down for a moment: inserts fail and are counted.
    await ep.stop();
    await waitFor(async () => ((await promQuery('increase(shiplog_collector_storage_errors_total[5m]) > 0')).data?.result.length ?? 0) > 0, 60_000, 'storage errors counted');
    await ep.restart();
    const silent: string[] = [];
    for (const rule of alertRules()) {
      const res = await promQuery(rule.expr);
      expect(res.status, rule.alert).toBe('success');
      const fired = (res.data?.result.length ?? 0) > 0;
      if (NOT_MADE_HERE[rule.alert]) continue;
      if (!fired) silent.push(rule.alert);
    }
    expect(silent).toEqual([]);
    const { stdout } = await run('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: resolve(ROOT, 'deploy/prometheus') });
    expect(stdout).toContain('SUCCESS');
    const tested = readFileSync(resolve(ROOT, 'deploy/prometheus/alerts.test.yml'), 'utf8');
    for (const name of Object.keys(NOT_MADE_HERE)) expect(tested, name).toContain(`alertname: ${name}`);
  });

  it('every ClickHouse query of the Logs dashboard, macros expanded, returns stored logs', async () => {
    await waitFor(async () => Number((await ep.query<{ c: string }>(`SELECT count() AS c FROM shiplog.otel_logs WHERE ContainerName = '${names.chatty}'`))[0]?.c ?? 0) > 20, 60_000, 'chatty lines stored');
    const to = Math.floor(Date.now() / 1000) + 5;
    const from = to - 3600;
    const d = DASHBOARDS['shiplog-logs.json']() as { panels: { title: string; targets: { rawSql?: string }[] }[]; templating: { list: { name: string; type: string; query: unknown }[] } };
    /** The plugin's macros and Grafana's variables, for a selection (undefined = All). */
    const expand = (sql: string, sel: { host?: string; container?: string; search?: string }) =>
      sql
        .replace(/\$__timeFilter\((\w+)\)/g, `$1 >= toDateTime(${from}) AND $1 <= toDateTime(${to})`)
        .replace(/\$__timeInterval\((\w+)\)/g, 'toStartOfInterval(toDateTime($1), INTERVAL 30 second)')
        .replaceAll('$__interval_s', '30')
        .replace(/\$__conditionalAll\((.*?), \$(\w+)\)/g, (_m, cond: string, v: string) => ((sel as Record<string, string | undefined>)[v] === undefined ? '1=1' : cond))
        // Grafana's percentencode of a multi-value selection: {a,b}, encoded.
        .replaceAll('${host:percentencode}', encodeURIComponent(`{${sel.host ?? ''}}`))
        .replaceAll('${container:percentencode}', encodeURIComponent(`{${sel.container ?? ''}}`))
        .replaceAll('${search:percentencode}', encodeURIComponent(sel.search ?? ''));
    expect(d.panels.length).toBeGreaterThanOrEqual(4);
    const host = (await ep.query<{ h: string }>(`SELECT any(HostName) AS h FROM shiplog.otel_logs WHERE ContainerName = '${names.chatty}'`))[0]?.h as string;
    for (const sel of [{}, { host, container: names.chatty }, { container: names.chatty, search: 'error' }]) {
      for (const p of d.panels) {
        for (const t of p.targets) {
          if (!t.rawSql) continue;
          const sql = expand(t.rawSql, sel);
          expect(sql, p.title).not.toMatch(/\$\{?\w/);
          // As Grafana's datasource runs it: its default database is the collectors' (provisioning).
          const rows = await ep.query<Record<string, unknown>>(sql, 'shiplog');
          expect(rows.length, `${p.title} ${JSON.stringify(sel)}`).toBeGreaterThan(0);
          if (p.title === 'Logs' && 'search' in sel) for (const row of rows) expect(String(row.body).toLowerCase()).toContain('error');
        }
      }
    }
    // The variable queries list the host and the container.
    for (const v of d.templating.list.filter((x) => x.type === 'query')) {
      const rows = await ep.query<Record<string, string>>(expand(v.query as string, {}), 'shiplog');
      expect(rows.map((r) => Object.values(r)[0])).toContain(v.name === 'host' ? host : names.chatty);
    }
  });
});

describe('deployment files', () => {
  it('validate with the tools that read them: promtool, amtool, docker-compose', async () => {
    const deploy = resolve(ROOT, 'deploy');
    expect((await run('promtool', ['check', 'rules', 'prometheus/alerts.yml'], { cwd: deploy })).stdout).toContain(`SUCCESS: ${alertRules().length} rules found`);
    expect((await run('promtool', ['check', 'config', '--syntax-only', 'prometheus/prometheus.yml'], { cwd: deploy })).stdout).toContain('SUCCESS');
    expect((await run('amtool', ['check-config', 'alertmanager/alertmanager.yml'], { cwd: deploy })).stdout).toContain('SUCCESS');
    const env = { ...process.env, SHIPLOG_KAFKA_BROKERS: 'kafka:9092', SHIPLOG_CLICKHOUSE_URL: 'http://u:p@clickhouse:8123', SHIPLOG_API_TOKEN: 't0ken' };
    // Without a token the files refuse to make an open log API.
    const { SHIPLOG_API_TOKEN: _t, ...noToken } = env;
    for (const f of ['compose.yml', 'stack.yml']) await expect(run('docker-compose', ['-f', f, 'config'], { cwd: deploy, env: noToken })).rejects.toThrow(/set SHIPLOG_API_TOKEN/);
    const compose = (await run('docker-compose', ['-f', 'compose.yml', 'config'], { cwd: deploy, env })).stdout;
    // The socket is mounted read-only wherever it is mounted.
    expect(compose).toContain('/var/run/docker.sock:/var/run/docker.sock:ro');
    // Grafana reads ClickHouse as the read-only user of users.d/grafana-readonly.xml (a
    // readonly profile), in the database the collectors write, never with the collectors' user.
    expect(compose).toContain('grafana-readonly.xml:/etc/clickhouse-server/users.d/grafana-readonly.xml:ro');
    expect(compose).toMatch(/SHIPLOG_GRAFANA_CLICKHOUSE_USER: grafana\n/);
    const users = readFileSync(resolve(deploy, 'clickhouse/users.d/grafana-readonly.xml'), 'utf8');
    expect(users).toMatch(/<grafana>[\s\S]*<profile>grafana_readonly<\/profile>/);
    expect(users).toMatch(/<grafana_readonly>\s*<readonly>2<\/readonly>/);
    const datasources = readFileSync(resolve(ROOT, 'dashboards/provisioning/datasources.yml'), 'utf8');
    expect(datasources).toContain('username: $SHIPLOG_GRAFANA_CLICKHOUSE_USER');
    expect(datasources).toContain('defaultDatabase: $SHIPLOG_CLICKHOUSE_DATABASE');
    const withDb = (await run('docker-compose', ['-f', 'compose.yml', 'config'], { cwd: deploy, env: { ...env, SHIPLOG_CLICKHOUSE_DATABASE: 'logs_prod' } })).stdout;
    expect(withDb.match(/SHIPLOG_CLICKHOUSE_DATABASE: logs_prod/g)?.length).toBe(3);
    const stack = (await run('docker-compose', ['-f', 'stack.yml', 'config'], { cwd: deploy, env })).stdout;
    expect(stack).toMatch(/mode: global/);
    expect(stack).toMatch(/read_only: true/);
  });
});
