/**
 * Query-side figures:
 *   - up-latency: `shiplog up` against the real dockerd; a container prints at 1k and then
 *     10k lines/s for 30 s while a client follows GET /api/v1/logs/tail; per line, the time
 *     from Docker's timestamp (when Docker read it from the container) to the moment the
 *     client received it. Every line must arrive, once.
 *   - api-needle: several million realistic lines in the embedded store (BENCH_ROWS, default
 *     5,000,000) and the API over HTTP: a needle search (a word in any container over two
 *     days), one container's newest 100 lines, the histogram of an hour.
 * Usage: node dist/bench/query.js [up-latency] [api-needle]   (both by default)
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { build } from '../collector/http/app.js';
import { ChdbStore } from '../collector/store/chdb-store.js';
import { migrate } from '../collector/store/migrate.js';
import { createLogger } from '../lib/logger.js';
import { readSse } from '../lib/sse.js';
import { storeRealistic } from './gen/realistic-logs.js';
import { IMAGE, runScenarios, saveResult, sh, shAsync, sleep, startShiplog, type BenchEnv } from './lib/env.js';

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;

/** Follows the tail; calls `on` with each line's message and its delay in ms. */
function follow(url: string, on: (message: string, delayMs: number) => void): () => void {
  const ac = new AbortController();
  void (async () => {
    const res = await fetch(url, { signal: ac.signal });
    for await (const ev of readSse(res.body as unknown as AsyncIterable<Uint8Array>)) {
      if (ev.event !== 'message') continue;
      const l = JSON.parse(ev.data) as { timestamp: string; message: string };
      // Docker's nanosecond timestamp, to the microsecond.
      const [sec, frac] = l.timestamp.slice(0, -1).split('.') as [string, string];
      on(l.message, Date.now() - (Date.parse(`${sec}Z`) + Number(frac.slice(0, 6)) / 1000));
    }
  })().catch(() => undefined);
  return () => ac.abort();
}

async function upLatency(env: BenchEnv): Promise<void> {
  const label = `bench-${randomUUID().slice(0, 8)}`;
  const up = await startShiplog('up', { DOCKER_HOST: env.dockerHost, SHIPLOG_DATA_DIR: env.tmp('bench-up-'), SHIPLOG_INCLUDE_LABELS: `shiplog.bench=${label}`, SHIPLOG_STATS_INTERVAL: '10s' });
  const result: Record<string, unknown> = {};
  try {
    for (const [rate, per] of [
      [1000, 10],
      [10000, 100],
    ] as const) {
      const name = `lat-${rate}-${label.slice(6)}`;
      const delays: number[] = [];
      const seen = new Set<string>();
      let dupes = 0;
      const stop = follow(`${up.url}/api/v1/logs/tail?container=${name}&backlog=0`, (m, d) => {
        if (seen.has(m)) dupes++;
        seen.add(m);
        delays.push(d);
      });
      await sleep(1000);
      const ticks = 3000;
      const t0 = Date.now();
      // `per` numbered lines every 10 ms for 30 s.
      const id = sh(`docker run -d --name ${name} --network none --label shiplog.bench=${label} ${IMAGE} sh -c "i=0; while [ \\$i -lt ${ticks} ]; do seq \\$((i*${per}+1)) \\$((i*${per}+${per})) | sed 's/^/tick /'; usleep 10000; i=\\$((i+1)); done"`, env.denv);
      // Not sh(): a blocked event loop would hold the tail's lines back and count as latency.
      await shAsync(`docker wait ${id}`, env.denv);
      const genSec = (Date.now() - t0) / 1000;
      const total = ticks * per;
      const deadline = Date.now() + 60_000;
      while (seen.size < total && Date.now() < deadline) await sleep(200);
      stop();
      sh(`docker rm -f ${id}`, env.denv);
      delays.sort((a, b) => a - b);
      result[`at${rate}`] = {
        targetLinesPerSec: rate,
        generatorLinesPerSec: Math.round(total / genSec),
        lines: total,
        received: seen.size,
        duplicates: dupes,
        p50Seconds: Number((quantile(delays, 0.5) / 1000).toFixed(3)),
        p99Seconds: Number((quantile(delays, 0.99) / 1000).toFixed(3)),
        maxSeconds: Number(((delays[delays.length - 1] ?? NaN) / 1000).toFixed(3)),
      };
    }
  } finally {
    await up.stop();
  }
  saveResult('up-latency', result);
  console.table(result);
}

async function apiNeedle(env: BenchEnv): Promise<void> {
  const rows = Number(process.env.BENCH_ROWS ?? 5_000_000);
  const store = new ChdbStore(join(env.tmp('bench-api-'), 'chdb'));
  await migrate(store, { database: 'shiplog', retentionDays: 30 }, createLogger('bench', 'silent'));
  const loadSec = await storeRealistic(store, rows, 'payment gateway said needle-7f3a9c');
  await store.exec('OPTIMIZE TABLE shiplog.otel_logs FINAL');
  const app = build({ registry: new Registry(), store, status: () => ({ consuming: true, storage: 'up', storageKind: 'chdb' }) });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const timed = async (path: string, runs = 7) => {
    const ms: number[] = [];
    let body: unknown;
    for (let i = 0; i < runs; i++) {
      const s = process.hrtime.bigint();
      const r = await fetch(`${url}${path}`);
      body = await r.json();
      if (!r.ok) throw new Error(`${path}: ${JSON.stringify(body)}`);
      ms.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    ms.sort((a, b) => a - b);
    return { medianMs: Number(quantile(ms, 0.5).toFixed(1)), body };
  };
  try {
    const needle = await timed('/api/v1/logs?q=needle-7f3a9c&since=2d');
    const found = (needle.body as { data: unknown[] }).data.length;
    if (found !== 1) throw new Error(`needle search found ${found} lines, not 1`);
    const one = await timed('/api/v1/logs?container=api-1&since=1h&limit=100');
    const hist = await timed('/api/v1/logs/histogram?since=1h');
    const r = { storedLines: rows, loadSeconds: Number(loadSec.toFixed(1)), needleSearchMedianMs: needle.medianMs, oneContainerNewest100MedianMs: one.medianMs, histogramLastHourMedianMs: hist.medianMs };
    saveResult('api-needle', r);
    console.table(r);
  } finally {
    await app.close();
    await store.close();
  }
}

const all = { 'up-latency': upLatency, 'api-needle': apiNeedle };
await runScenarios(all, (chosen) => ({ docker: chosen.includes('up-latency'), kafka: false }));
