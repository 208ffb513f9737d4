/**
 * The Grafana dashboards, as code: `npm run dashboards` writes dashboards/*.json from here
 * (a test checks the committed files match). Dashboard JSON model of Grafana 11
 * (schemaVersion 39); datasources are dashboard variables (`${prometheus}`, `${clickhouse}`),
 * never fixed uids, so the files import into any Grafana.
 *
 *  - Containers: cAdvisor-compatible container metrics from the collectors (Prometheus).
 *  - Logs: stored logs from ClickHouse through grafana-clickhouse-datasource and its macros;
 *    table otel_logs of the datasource's default database (SHIPLOG_CLICKHOUSE_DATABASE, set in
 *    dashboards/provisioning/datasources.yml), so another database name needs no edit here.
 * Typed by @grafana/schema's Dashboard: what Grafana's schema lacks does not compile.
 *  - Pipeline: agents' and collectors' own metrics (Prometheus).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dashboard, FieldConfigSource, VariableModel } from '@grafana/schema';

export type Target = {
  refId: string;
  expr?: string;
  rawSql?: string;
  legendFormat?: string;
  format?: number | string;
  queryType?: string;
  editorType?: string;
  instant?: boolean;
  datasource: { type: string; uid: string };
};

export interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource: { type: string; uid: string };
  targets: Target[];
  fieldConfig: { defaults: Record<string, unknown>; overrides: FieldConfigSource['overrides'] };
  options: Record<string, unknown>;
}

export const PROM = { type: 'prometheus', uid: '${prometheus}' };
export const CH = { type: 'grafana-clickhouse-datasource', uid: '${clickhouse}' };

const dsVar = (name: string, type: string, label: string) => ({ name, label, type: 'datasource' as const, query: type, current: { text: '', value: '' }, hide: 0, refresh: 1, regex: '', options: [] });
const promVar = (name: string, label: string, query: string) => ({
  name,
  label,
  type: 'query' as const,
  datasource: PROM,
  query: { query, refId: `${name}-var` },
  definition: query,
  refresh: 2,
  multi: true,
  includeAll: true,
  allValue: '.*',
  current: { text: 'All', value: '$__all' },
  sort: 1,
  hide: 0,
  options: [],
});
const chVar = (name: string, label: string, sql: string) => ({
  name,
  label,
  type: 'query' as const,
  datasource: CH,
  query: sql,
  definition: sql,
  refresh: 2,
  multi: true,
  includeAll: true,
  current: { text: 'All', value: '$__all' },
  sort: 1,
  hide: 0,
  options: [],
});

/** Lays panels out left to right in rows of 24 columns. */
class Layout {
  private x = 0;
  private y = 0;
  private rowH = 0;
  private id = 1;
  readonly panels: Panel[] = [];

  add(p: { type: string; title: string; description?: string; w: number; h: number; ds: { type: string; uid: string }; targets: Omit<Target, 'datasource' | 'refId'>[]; unit?: string; options?: Record<string, unknown>; custom?: Record<string, unknown> }): void {
    if (this.x + p.w > 24) {
      this.x = 0;
      this.y += this.rowH;
      this.rowH = 0;
    }
    this.panels.push({
      id: this.id++,
      type: p.type,
      title: p.title,
      ...(p.description ? { description: p.description } : {}),
      gridPos: { x: this.x, y: this.y, w: p.w, h: p.h },
      datasource: p.ds,
      targets: p.targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), datasource: p.ds, ...t })),
      fieldConfig: { defaults: { ...(p.unit ? { unit: p.unit } : {}), ...(p.custom ? { custom: p.custom } : {}) }, overrides: [] },
      options: p.options ?? (p.type === 'timeseries' ? { legend: { displayMode: 'table', placement: 'bottom', calcs: ['mean', 'max'] }, tooltip: { mode: 'multi', sort: 'desc' } } : {}),
    });
    this.x += p.w;
    this.rowH = Math.max(this.rowH, p.h);
  }
}

/** Checked against Grafana's own dashboard schema types (@grafana/schema) when this file compiles. */
function dashboard(uid: string, title: string, description: string, templating: VariableModel[], panels: Panel[], time = 'now-1h'): Dashboard {
  return {
    uid,
    title,
    description,
    tags: ['shiplog', 'docker'],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    time: { from: time, to: 'now' },
    refresh: '30s',
    timezone: 'browser',
    templating: { list: templating },
    annotations: { list: [] },
    links: [{ title: 'shiplog', type: 'dashboards', tags: ['shiplog'], asDropdown: true, includeVars: true, keepTime: true, icon: 'external link', targetBlank: false, tooltip: '' }],
    panels,
  } satisfies Dashboard;
}

const SEL = 'host=~"$host", name=~"$name"';

export function containersDashboard() {
  const l = new Layout();
  const ts = (title: string, unit: string, targets: { expr: string; legendFormat: string }[], description?: string) =>
    l.add({ type: 'timeseries', title, description, w: 12, h: 8, ds: PROM, unit, targets });
  l.add({ type: 'stat', title: 'Containers seen in the last minute', w: 6, h: 4, ds: PROM, targets: [{ expr: `count(time() - container_last_seen{${SEL}} < 60)`, legendFormat: 'containers' }] });
  l.add({ type: 'stat', title: 'OOM kills in range', w: 6, h: 4, ds: PROM, targets: [{ expr: `sum(increase(container_oom_events_total{${SEL}}[$__range]))`, legendFormat: 'OOM kills' }] });
  l.add({ type: 'stat', title: 'Container starts in range', w: 6, h: 4, ds: PROM, targets: [{ expr: `sum(changes(container_start_time_seconds{${SEL}}[$__range]))`, legendFormat: 'starts' }] });
  l.add({ type: 'stat', title: 'Unhealthy containers', description: 'Containers whose Docker health check does not pass: unhealthy, or still starting (container_health_state 0, as cAdvisor; only containers with a HEALTHCHECK have one).', w: 6, h: 4, ds: PROM, targets: [{ expr: `count(container_health_state{${SEL}} == 0) or vector(0)`, legendFormat: 'unhealthy' }] });
  ts('CPU (cores)', 'short', [{ expr: `sum by (host, name) (rate(container_cpu_usage_seconds_total{${SEL}}[$__rate_interval]))`, legendFormat: '{{name}}@{{host}}' }]);
  ts('CPU throttled (share of periods)', 'percentunit', [
    { expr: `sum by (host, name) (rate(container_cpu_cfs_throttled_periods_total{${SEL}}[$__rate_interval])) / (sum by (host, name) (rate(container_cpu_cfs_periods_total{${SEL}}[$__rate_interval])) > 0)`, legendFormat: '{{name}}@{{host}}' },
  ], 'Only containers with a CPU quota (--cpus) have periods; time spent at the quota.');
  ts('Memory working set vs limit', 'bytes', [
    { expr: `sum by (host, name) (container_memory_working_set_bytes{${SEL}})`, legendFormat: '{{name}}@{{host}}' },
    { expr: `sum by (host, name) (container_spec_memory_limit_bytes{${SEL}} > 0)`, legendFormat: 'limit {{name}}@{{host}}' },
  ]);
  ts('Memory used of limit', 'percentunit', [
    { expr: `sum by (host, name) (container_memory_working_set_bytes{${SEL}}) / sum by (host, name) (container_spec_memory_limit_bytes{${SEL}} > 0)`, legendFormat: '{{name}}@{{host}}' },
  ], 'Containers with a memory limit only; the kernel OOM-kills at 100%.');
  ts('Network receive', 'Bps', [{ expr: `sum by (host, name) (rate(container_network_receive_bytes_total{${SEL}}[$__rate_interval]))`, legendFormat: '{{name}}@{{host}}' }], 'Containers with a network (none for --network none or host).');
  ts('Network transmit', 'Bps', [{ expr: `sum by (host, name) (rate(container_network_transmit_bytes_total{${SEL}}[$__rate_interval]))`, legendFormat: '{{name}}@{{host}}' }], 'Containers with a network (none for --network none or host).');
  ts('Block I/O read', 'Bps', [{ expr: `sum by (host, name) (rate(container_fs_reads_bytes_total{${SEL}}[$__rate_interval]))`, legendFormat: '{{name}}@{{host}}' }]);
  ts('Block I/O write', 'Bps', [{ expr: `sum by (host, name) (rate(container_fs_writes_bytes_total{${SEL}}[$__rate_interval]))`, legendFormat: '{{name}}@{{host}}' }]);
  ts('Processes', 'short', [{ expr: `sum by (host, name) (container_processes{${SEL}})`, legendFormat: '{{name}}@{{host}}' }]);
  ts('Restarts and OOM kills', 'short', [
    { expr: `sum by (host, name) (changes(container_start_time_seconds{${SEL}}[$__rate_interval]))`, legendFormat: 'starts {{name}}@{{host}}' },
    { expr: `sum by (host, name) (increase(container_oom_events_total{${SEL}}[$__rate_interval]))`, legendFormat: 'OOM {{name}}@{{host}}' },
  ]);
  return dashboard('shiplog-containers', 'shiplog / Containers', 'Per host and container: CPU, memory against the limit, network, block I/O, restarts and OOM kills (cAdvisor-compatible metrics from the shiplog collectors).', [
    dsVar('prometheus', 'prometheus', 'Prometheus'),
    promVar('host', 'Host', 'label_values(container_last_seen, host)'),
    promVar('name', 'Container', 'label_values(container_last_seen{host=~"$host"}, name)'),
  ], l.panels);
}

/**
 * What the Search box says, as a ClickHouse string expression. Grafana pastes variables into
 * the SQL text; `:raw` let a quote end the string (a search for `it's` broke every panel, and
 * the rest ran as SQL), and `:sqlstring` only doubles quotes, while ClickHouse also takes a
 * backslash as an escape (`\'` ends nothing). Percent-encoded, the text is only letters,
 * digits, `-_.~` and `%XX`, which no string literal can be broken out of; ClickHouse decodes it.
 */
export const SEARCH_TEXT = "decodeURLComponent('${search:percentencode}')";

/**
 * A multi-value variable's selection as a condition on a column, safe whatever the values hold.
 * A host name is any string, and `:singlequote` escapes a quote with a backslash but leaves a
 * backslash alone: a name with a backslash before a quote would end the literal in ClickHouse.
 * Percent-encoded as search is: Grafana writes the selection as `{a,b}` (a single value as `a`)
 * and encodes it; ClickHouse decodes and splits it. A value with a comma would be split in two
 * (host and container names have none).
 */
export function oneOf(column: string, variable: string): string {
  const s = `decodeURLComponent('\${${variable}:percentencode}')`;
  return `$__conditionalAll(has(splitByChar(',', if(startsWith(${s}, '{') AND endsWith(${s}, '}'), substring(${s}, 2, length(${s}) - 2), ${s})), ${column}), $${variable})`;
}

/** The WHERE conditions every logs query shares (macros of grafana-clickhouse-datasource). */
const LOG_WHERE = [
  '$__timeFilter(Timestamp) AND $__timeFilter(TimestampTime)',
  oneOf('HostName', 'host'),
  oneOf('ContainerName', 'container'),
  `('\${search:percentencode}' = '' OR positionCaseInsensitive(Body, ${SEARCH_TEXT}) > 0)`,
].join('\n  AND ');

export function logsDashboard() {
  const l = new Layout();
  l.add({
    type: 'timeseries', title: 'Log volume by level', w: 24, h: 8, ds: CH, unit: 'short',
    custom: { drawStyle: 'bars', stacking: { mode: 'normal' }, fillOpacity: 80 },
    targets: [{ format: 1, editorType: 'sql', queryType: 'timeseries', rawSql: `SELECT $__timeInterval(TimestampTime) AS time, if(SeverityText = '', 'unknown', lower(SeverityText)) AS level, count() AS lines\nFROM otel_logs\nWHERE ${LOG_WHERE}\nGROUP BY time, level\nORDER BY time` }],
  });
  l.add({
    type: 'bargauge', title: 'Noisiest containers', w: 12, h: 9, ds: CH, unit: 'short', options: { displayMode: 'gradient', orientation: 'horizontal', reduceOptions: { calcs: ['lastNotNull'], fields: '', values: true } },
    targets: [{ format: 1, editorType: 'sql', queryType: 'table', rawSql: `SELECT concat(ContainerName, '@', HostName) AS container, count() AS lines\nFROM otel_logs\nWHERE ${LOG_WHERE}\nGROUP BY container\nORDER BY lines DESC\nLIMIT 15` }],
  });
  l.add({
    type: 'timeseries', title: 'Error rate per service (lines/s at ERROR or FATAL)', w: 12, h: 9, ds: CH, unit: 'short',
    targets: [{ format: 1, editorType: 'sql', queryType: 'timeseries', rawSql: `SELECT $__timeInterval(TimestampTime) AS time, ServiceName AS service, countIf(SeverityNumber >= 17) / $__interval_s AS errors_per_second\nFROM otel_logs\nWHERE ${LOG_WHERE}\nGROUP BY time, service\nORDER BY time` }],
  });
  l.add({
    type: 'logs', title: 'Logs', description: 'Newest 1,000 lines matching the variables; type in Search to narrow (case-insensitive text).', w: 24, h: 16, ds: CH,
    options: { showTime: true, wrapLogMessage: true, sortOrder: 'Descending', enableLogDetails: true, dedupStrategy: 'none' },
    targets: [{ format: 2, editorType: 'sql', queryType: 'logs', rawSql: `SELECT Timestamp AS timestamp, Body AS body, if(SeverityText = '', 'unknown', lower(SeverityText)) AS level, ContainerName AS container, HostName AS host, Stream AS stream, ServiceName AS service\nFROM otel_logs\nWHERE ${LOG_WHERE}\nORDER BY Timestamp DESC\nLIMIT 1000` }],
  });
  return dashboard('shiplog-logs', 'shiplog / Logs', 'Stored container logs from ClickHouse (otel_logs): volume by level, the noisiest containers, error rate per service, and the lines themselves with search.', [
    dsVar('clickhouse', 'grafana-clickhouse-datasource', 'ClickHouse'),
    chVar('host', 'Host', "SELECT DISTINCT HostName FROM otel_logs WHERE Timestamp >= now() - INTERVAL 1 DAY ORDER BY HostName"),
    chVar('container', 'Container', `SELECT DISTINCT ContainerName FROM otel_logs WHERE Timestamp >= now() - INTERVAL 1 DAY AND ${oneOf('HostName', 'host')} ORDER BY ContainerName`),
    { name: 'search', label: 'Search', type: 'textbox', query: '', current: { text: '', value: '' }, hide: 0, options: [] },
  ], l.panels);
}

export function pipelineDashboard() {
  const l = new Layout();
  const ts = (title: string, unit: string, targets: { expr: string; legendFormat: string }[], description?: string) =>
    l.add({ type: 'timeseries', title, description, w: 12, h: 8, ds: PROM, unit, targets });
  l.add({ type: 'stat', title: 'Agents up', w: 6, h: 4, ds: PROM, targets: [{ expr: 'sum(up{job="shiplog-agent"})', legendFormat: 'agents' }] });
  l.add({ type: 'stat', title: 'Collectors up', w: 6, h: 4, ds: PROM, targets: [{ expr: 'sum(up{job="shiplog-collector"})', legendFormat: 'collectors' }] });
  l.add({ type: 'stat', title: 'Storage reachable', w: 6, h: 4, ds: PROM, targets: [{ expr: 'min(shiplog_collector_storage_up)', legendFormat: 'storage' }] });
  l.add({ type: 'stat', title: 'Containers followed', w: 6, h: 4, ds: PROM, targets: [{ expr: 'sum(shiplog_agent_containers_followed)', legendFormat: 'containers' }] });
  ts('Lines in (read by agents) and out (acknowledged by Kafka)', 'short', [
    { expr: 'sum by (instance) (rate(shiplog_agent_lines_read_total[$__rate_interval]))', legendFormat: 'read {{instance}}' },
    { expr: 'sum by (instance) (rate(shiplog_agent_lines_shipped_total[$__rate_interval]))', legendFormat: 'shipped {{instance}}' },
  ]);
  ts('Rows stored (collectors)', 'short', [{ expr: 'sum by (instance, table) (rate(shiplog_collector_rows_inserted_total[$__rate_interval]))', legendFormat: '{{table}} {{instance}}' }]);
  ts('Consumer lag (records)', 'short', [{ expr: 'sum by (instance, topic) (shiplog_collector_consumer_lag)', legendFormat: '{{topic}} {{instance}}' }]);
  ts('Insert latency p50 / p99', 's', [
    { expr: 'histogram_quantile(0.5, sum by (le, table) (rate(shiplog_collector_insert_duration_seconds_bucket[$__rate_interval])))', legendFormat: 'p50 {{table}}' },
    { expr: 'histogram_quantile(0.99, sum by (le, table) (rate(shiplog_collector_insert_duration_seconds_bucket[$__rate_interval])))', legendFormat: 'p99 {{table}}' },
  ]);
  ts('Line latency, container to stored, p50 / p99', 's', [
    { expr: 'histogram_quantile(0.5, sum by (le) (rate(shiplog_collector_line_latency_seconds_bucket[$__rate_interval])))', legendFormat: 'p50' },
    { expr: 'histogram_quantile(0.99, sum by (le) (rate(shiplog_collector_line_latency_seconds_bucket[$__rate_interval])))', legendFormat: 'p99' },
  ]);
  ts('Agent buffer (unacknowledged bytes)', 'bytes', [{ expr: 'sum by (instance) (shiplog_agent_buffered_bytes)', legendFormat: '{{instance}}' }], 'Streams pause (backpressure) at SHIPLOG_BUFFER_BYTES.');
  ts('DLQ and drops', 'short', [
    { expr: 'sum by (reason) (increase(shiplog_collector_records_rejected_total[$__rate_interval]))', legendFormat: 'DLQ {{reason}}' },
    { expr: 'sum(increase(shiplog_collector_dlq_dropped_total[$__rate_interval]))', legendFormat: 'DLQ refused' },
    { expr: 'sum by (reason) (increase(shiplog_agent_lines_dropped_total[$__rate_interval]))', legendFormat: 'agent dropped {{reason}}' },
    { expr: 'sum(increase(shiplog_agent_events_dropped_total[$__rate_interval]))', legendFormat: 'events dropped' },
  ], 'Zero while all is well; every drop is also logged with its reason.');
  ts('Errors', 'short', [
    { expr: 'sum by (instance) (increase(shiplog_collector_storage_errors_total[$__rate_interval]))', legendFormat: 'storage {{instance}}' },
    { expr: 'sum by (instance) (increase(shiplog_agent_produce_errors_total[$__rate_interval]))', legendFormat: 'produce {{instance}}' },
    { expr: 'sum by (instance, op) (increase(shiplog_agent_docker_errors_total[$__rate_interval]))', legendFormat: 'docker {{op}} {{instance}}' },
  ], 'Zero while all is well; each is retried.');
  ts('Process memory (RSS)', 'bytes', [
    { expr: 'shiplog_agent_process_process_resident_memory_bytes', legendFormat: 'agent {{instance}}' },
    { expr: 'shiplog_collector_process_process_resident_memory_bytes', legendFormat: 'collector {{instance}}' },
  ]);
  return dashboard('shiplog-pipeline', 'shiplog / Pipeline', 'Health of shiplog itself: agents and collectors up, lines in and out, consumer lag, insert and end-to-end latency, buffers, DLQ, drops and errors.', [dsVar('prometheus', 'prometheus', 'Prometheus')], l.panels);
}

export const DASHBOARDS = { 'shiplog-containers.json': containersDashboard, 'shiplog-logs.json': logsDashboard, 'shiplog-pipeline.json': pipelineDashboard };

export function render(make: () => object): string {
  return `${JSON.stringify(make(), null, 2)}\n`;
}

if (process.argv[1]?.endsWith('generate.js')) {
  const dir = join(import.meta.dirname, '../../dashboards');
  for (const [file, make] of Object.entries(DASHBOARDS)) writeFileSync(join(dir, file), render(make));
  console.log(`wrote ${Object.keys(DASHBOARDS).join(', ')} to ${dir}`);
}
