/**
 * Cost at everyday load (issue: a quiet host must not pay a core for its log shipper).
 *   - everyday-up: `shiplog up` on the real dockerd, 5 containers writing ~100 lines/s in
 *     total, for BENCH_WINDOW_S seconds (default 600) after a 30 s warm-up: cores, RSS,
 *     inserts per second into otel_logs, data-dir bytes beside the stored parts' bytes, bytes
 *     written to disk beside the log bytes the containers wrote; dockerd's CPU in the same
 *     window is the reference; line-to-queryable latency (p50/p99 from the line-latency
 *     histogram over the window). Once per number of rows already stored, BENCH_PRELOAD_ROWS
 *     (default 0,1000000,10000000).
 *   - everyday-agent: the agent shipping to Kafka from 100 containers × 10 lines/s, three
 *     windows of BENCH_AGENT_WINDOW_S (default 60) after a 20 s warm-up: agent cores, cores per
 *     1 k lines/s, RSS; dockerd's CPU serving the same streams in the same windows is the reference.
 *     The agent runs with the agent image's NODE_OPTIONS (BENCH_AGENT_NODE_OPTIONS overrides;
 *     BENCH_AGENT_NODE_ARGS adds node flags such as --cpu-prof).
 * Usage: node dist/bench/everyday.js [everyday-up] [everyday-agent]
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RowEncoder } from '../collector/ingest/encode-rows.js';
import { ChdbStore } from '../collector/store/chdb-store.js';
import { migrate } from '../collector/store/migrate.js';
import { LOG_INSERT_COLUMNS } from '../collector/store/schema.js';
import { createLogger } from '../lib/logger.js';
import { RealisticLogs } from './gen/realistic-logs.js';
import { IMAGE, dockerdPid, histogramQuantile, metricValue, procStat, runScenarios, saveResult, sh, sleep, startShiplog, type BenchEnv } from './lib/env.js';

const CONTAINERS = 5;
/** Lines per second per container: 5 × 20 = 100 lines/s. */
const PER_CONTAINER_RATE = 20;

function writeBytes(pid: number): number {
  const m = /write_bytes:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

/** dockerd's pid: from the pidfile beside the socket (test/env/docker.sh), else the only dockerd. */
async function preload(dataDir: string, rows: number): Promise<void> {
  if (rows <= 0) return;
  const store = new ChdbStore(join(dataDir, 'chdb'));
  await migrate(store, { database: 'shiplog', retentionDays: 30 }, createLogger('bench', 'silent'));
  const gen = new RealisticLogs({ containers: 40, spanMs: 86_400_000 });
  const now = Date.now() - 3_600_000;
  let n = 0;
  while (n < rows) {
    const enc = new RowEncoder();
    for (const rec of gen.batch(Math.min(50_000, rows - n), now, rows)) enc.add(rec, { topic: 'preload', partition: 0, offset: String(n) });
    n += enc.rows;
    await store.insertTsv('otel_logs', LOG_INSERT_COLUMNS, enc.take(), `preload-${n}`);
  }
  // Level 3, as the day's older parts would be under the embedded merge policy (ten parts of a
  // level make one of the next: hours of one-second parts reach level 3-4), so the run sees
  // the structure a day of inserts leaves, not a pile of level-0 parts about to be merged.
  for (let k = 0; k < 3; k++) await store.exec('OPTIMIZE TABLE shiplog.otel_logs FINAL');
  // The merged-away copies go before the run: they are the preload's, not the run's, bytes.
  await store.exec('ALTER TABLE shiplog.otel_logs MODIFY SETTING old_parts_lifetime = 1, cleanup_delay_period = 1, max_cleanup_delay_period = 1');
  for (let i = 0; i < 120; i++) {
    const [{ n } = { n: 0 }] = await store.query<{ n: number | string }>("SELECT count() AS n FROM system.parts WHERE database = 'shiplog' AND table = 'otel_logs' AND NOT active");
    if (Number(n) === 0) break;
    await sleep(1000);
  }
  await store.close();
}

/** One everyday-up run per number of rows stored beforehand (BENCH_PRELOAD_ROWS, comma-separated). */
async function everydayUp(env: BenchEnv): Promise<void> {
  const runs: Record<string, unknown>[] = [];
  for (const rows of (process.env.BENCH_PRELOAD_ROWS ?? '0,1000000,10000000').split(',')) runs.push(await everydayUpRun(env, Number(rows)));
  const cores = runs.map((r) => r.cores as number);
  const summary = { runs, cores_max_to_min: Math.max(...cores) / Math.min(...cores) };
  console.log(JSON.stringify({ cores_max_to_min: summary.cores_max_to_min }));
  saveResult('everyday-up', summary);
}

async function everydayUpRun(env: BenchEnv, preloadRows: number): Promise<Record<string, unknown>> {
  const windowS = Number(process.env.BENCH_WINDOW_S ?? 600);
  const label = `bench-${randomUUID().slice(0, 8)}`;
  const dataDir = env.tmp('bench-everyday-');
  // Parts come and go while du walks the dir (it warns about them; the sum is still right).
  const dataDirBytes = () => Number(sh(`du -sb ${join(dataDir, 'chdb')} 2>/dev/null | cut -f1`));
  await preload(dataDir, preloadRows);
  // BENCH_UP_NODE_OPTIONS: node options for shiplog up (e.g. --max-semi-space-size=2).
  // BENCH_UP_NODE_ARGS: flags for its node itself, space-separated (e.g. --cpu-prof --cpu-prof-dir=/tmp/p).
  const nodeArgs = (process.env.BENCH_UP_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const up = await startShiplog('up', { NODE_OPTIONS: process.env.BENCH_UP_NODE_OPTIONS ?? '', DOCKER_HOST: env.dockerHost, SHIPLOG_DATA_DIR: dataDir, SHIPLOG_INCLUDE_LABELS: `shiplog.bench=${label}` }, nodeArgs);
  const pid = up.proc.pid as number;
  const dpid = dockerdPid(env.dockerHost);
  const names: string[] = [];
  try {
    // ~140-byte lines, PER_CONTAINER_RATE a second (busybox usleep), with a counter.
    const sleepUs = Math.round(1_000_000 / PER_CONTAINER_RATE);
    for (let c = 0; c < CONTAINERS; c++) {
      const name = `everyday-${c}-${label.slice(6)}`;
      names.push(name);
      const script = `i=0; while true; do i=$((i+1)); echo "$(date +%H:%M:%S) INFO request served path=/api/v1/items/$i status=200 duration_ms=12 user=u$((i % 97)) trace=abcdef0123456789"; usleep ${sleepUs}; done`;
      sh(`docker run -d --network none --name ${name} --label shiplog.bench=${label} ${IMAGE} sh -c '${script}'`, env.denv);
    }
    await sleep(30_000);
    const metrics0 = await up.metricsText();
    const cpu0 = procStat(pid).cpuSec;
    const d0 = dpid ? procStat(dpid).cpuSec : NaN;
    const w0 = writeBytes(pid);
    const t0 = Date.now();
    let peakRss = 0;
    let peakDataDir = 0;
    let minDataDir = Infinity;
    while (Date.now() - t0 < windowS * 1000) {
      await sleep(5_000);
      peakRss = Math.max(peakRss, procStat(pid).rssMiB);
      const dir = dataDirBytes();
      peakDataDir = Math.max(peakDataDir, dir);
      minDataDir = Math.min(minDataDir, dir);
    }
    const secs = (Date.now() - t0) / 1000;
    const cpu = (procStat(pid).cpuSec - cpu0) / secs;
    const dockerdCpu = dpid ? (procStat(dpid).cpuSec - d0) / secs : NaN;
    const written = writeBytes(pid) - w0;
    const rssMiB = procStat(pid).rssMiB;
    const metrics1 = await up.metricsText();
    /** How much a metric moved over the window. */
    const moved = (name: string, labels: Record<string, string> = {}) => metricValue(metrics1, name, labels) - metricValue(metrics0, name, labels);
    const inserts = moved('shiplog_collector_insert_duration_seconds_count', { table: 'otel_logs' });
    const rows = moved('shiplog_collector_rows_inserted_total', { table: 'otel_logs' });
    await up.stop();
    // The stored parts' own bytes, read with the engine once shiplog has let go of it.
    const store = new ChdbStore(join(dataDir, 'chdb'));
    const [parts] = await store.query<{ b: string; body: string }>("SELECT toString(sum(bytes_on_disk)) AS b, '' AS body FROM system.parts WHERE active AND database = 'shiplog'");
    const [raw] = await store.query<{ b: string; n: string }>("SELECT toString(sum(length(Body) + 1)) AS b, toString(count()) AS n FROM shiplog.otel_logs WHERE KafkaTopic = 'inproc'");
    await store.close();
    const dataDirEnd = dataDirBytes();
    const figures = {
      window_s: Math.round(secs),
      preload_rows: preloadRows,
      lines_per_s: rows / secs,
      cores: cpu,
      dockerd_cores: dockerdCpu,
      rss_mib: rssMiB,
      peak_rss_mib: peakRss,
      inserts_per_s: inserts / secs,
      inserts_all_tables_per_s: moved('shiplog_collector_insert_duration_seconds_count') / secs,
      // From a line's Docker timestamp to its insert committed (queryable from then on).
      line_latency_p50_s: histogramQuantile(metrics1, 'shiplog_collector_line_latency_seconds', 0.5, metrics0),
      line_latency_p99_s: histogramQuantile(metrics1, 'shiplog_collector_line_latency_seconds', 0.99, metrics0),
      data_dir_bytes: { min: minDataDir, peak: peakDataDir, end: dataDirEnd },
      parts_bytes: Number(parts?.b ?? 0),
      data_dir_to_parts: peakDataDir / Math.max(1, Number(parts?.b ?? 0)),
      disk_write_bytes: written,
      log_bytes_stored: Number(raw?.b ?? 0),
      // Log bytes the containers wrote in the window: its rows at the stored lines' average size.
      disk_writes_per_log_byte: written / Math.max(1, rows * (Number(raw?.b ?? 0) / Math.max(1, Number(raw?.n ?? 1)))),
    };
    console.log(JSON.stringify(figures, null, 2));
    return figures;
  } finally {
    await up.stop().catch(() => undefined);
    for (const n of names) execFileSync('docker', ['rm', '-f', n], { env: env.denv, stdio: 'ignore' });
  }
}

/**
 * Once per way of reading logs (BENCH_DOCKER_LOGS, default api,files): the agent's and
 * dockerd's CPU for the same 100 containers, and the two together compared between the modes.
 */
async function everydayAgent(env: BenchEnv): Promise<void> {
  const modes = (process.env.BENCH_DOCKER_LOGS ?? 'api,files').split(',');
  const byMode: Record<string, Record<string, unknown>> = {};
  for (const mode of modes) byMode[mode] = await everydayAgentRun(env, mode);
  const total = (m: string) => {
    const w = (byMode[m]?.windows ?? []) as Record<string, number>[];
    return w.reduce((s, x) => s + (x.agent_cores ?? 0) + (x.dockerd_cores ?? 0), 0) / Math.max(1, w.length);
  };
  const summary = { modes: byMode, agent_plus_dockerd_cores: Object.fromEntries(modes.map((m) => [m, total(m)])), files_to_api: byMode.files && byMode.api ? total('files') / total('api') : undefined };
  console.log(JSON.stringify({ agent_plus_dockerd_cores: summary.agent_plus_dockerd_cores, files_to_api: summary.files_to_api }));
  saveResult('everyday-agent', summary);
}

async function everydayAgentRun(env: BenchEnv, mode: string): Promise<Record<string, unknown>> {
  const windowS = Number(process.env.BENCH_AGENT_WINDOW_S ?? 60);
  const label = `bench-${randomUUID().slice(0, 8)}`;
  // As the agent image runs it (deploy/Dockerfile); BENCH_AGENT_NODE_OPTIONS='' for bare Node.
  const nodeOptions = process.env.BENCH_AGENT_NODE_OPTIONS ?? '--max-semi-space-size=2';
  const agent = await startShiplog('agent', {
    NODE_OPTIONS: nodeOptions,
    DOCKER_HOST: env.dockerHost,
    SHIPLOG_KAFKA_BROKERS: env.brokers,
    SHIPLOG_DATA_DIR: env.tmp('bench-agent-'),
    SHIPLOG_KAFKA_TOPIC_PREFIX: label,
    SHIPLOG_INCLUDE_LABELS: `shiplog.bench=${label}`,
    SHIPLOG_DOCKER_LOGS: mode,
    // e.g. BENCH_AGENT_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the agent.
  }, (process.env.BENCH_AGENT_NODE_ARGS ?? '').split(' ').filter(Boolean));
  const pid = agent.proc.pid as number;
  const dpid = dockerdPid(env.dockerHost);
  const ids: string[] = [];
  try {
    for (let i = 0; i < 100; i++) {
      ids.push(sh(`docker run -d --network none --label shiplog.bench=${label} ${IMAGE} sh -c 'i=0; while :; do i=$((i+1)); echo "c${i} $i INFO request served path=/api/v1/items status=200 duration_ms=12 trace=abcdef0123456789"; usleep 100000; done'`, env.denv));
    }
    await sleep(20_000);
    const windows: Record<string, number>[] = [];
    for (let w = 0; w < 3; w++) {
      const a0 = procStat(pid).cpuSec;
      const d0 = dpid ? procStat(dpid).cpuSec : NaN;
      const l0 = await agent.metric('shiplog_agent_lines_shipped_total');
      const t0 = Date.now();
      await sleep(windowS * 1000);
      const secs = (Date.now() - t0) / 1000;
      const lines = ((await agent.metric('shiplog_agent_lines_shipped_total')) - l0) / secs;
      const cores = (procStat(pid).cpuSec - a0) / secs;
      const dockerd = dpid ? (procStat(dpid).cpuSec - d0) / secs : NaN;
      windows.push({ lines_per_s: lines, agent_cores: cores, cores_per_1k_lines_s: cores / (lines / 1000), dockerd_cores: dockerd, agent_to_dockerd: cores / dockerd, rss_mib: procStat(pid).rssMiB });
    }
    const figures = { docker_logs: mode, containers: 100, window_s: windowS, node_options: nodeOptions, windows, peak_rss_mib: procStat(pid).hwmMiB };
    console.log(JSON.stringify(figures, null, 2));
    return figures;
  } finally {
    await agent.stop().catch(() => undefined);
    if (ids.length) execFileSync('docker', ['rm', '-f', ...ids], { env: env.denv, stdio: 'ignore' });
  }
}

await runScenarios({ 'everyday-up': everydayUp, 'everyday-agent': everydayAgent }, (chosen) => ({ docker: true, kafka: chosen.includes('everyday-agent') }));
