/**
 * Storage figures on the embedded engine (chDB), same run, same machine:
 *   - raw chDB insert rate of ready TabSeparated rows (the engine's ceiling in one process);
 *   - the collector's path for the same records: validate JSON records, encode rows, insert;
 *   - bytes on disk per million realistic lines and the compression ratio;
 *   - needle search (a word in any container, last day) and one container's last hour.
 * Writes bench/results/collector-store.json. BENCH_ROWS sets the size (default 2,000,000).
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { decodeRecord } from '../collector/ingest/decode-record.js';
import { RowEncoder } from '../collector/ingest/encode-rows.js';
import { ChdbStore } from '../collector/store/chdb-store.js';
import { migrate } from '../collector/store/migrate.js';
import { LOG_INSERT_COLUMNS } from '../collector/store/schema.js';
import { createLogger } from '../lib/logger.js';
import { RealisticLogs } from './gen/realistic-logs.js';

const root = resolve(import.meta.dirname, '../..');
const ROWS = Number(process.env.BENCH_ROWS ?? 2_000_000);
const PER_RECORD = 250;
const CONTAINERS = 40;
const INSERT_ROWS = 100_000;

function secs(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Rows the engine plans to read after pruning (chDB reports no read_rows of its own). */
async function estimate(store: ChdbStore, sql: string): Promise<number> {
  const [e] = await store.query<{ rows: string | number }>(`EXPLAIN ESTIMATE ${sql}`);
  return Number(e?.rows ?? -1);
}

/** Median of several runs; each run's SQL differs by a comment so no result cache can answer it. */
async function timed<T>(f: (run: number) => Promise<T>, runs = 5): Promise<{ medianMs: number; last: T }> {
  const ms: number[] = [];
  let last!: T;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    last = await f(i);
    ms.push(secs(t0) * 1000);
  }
  ms.sort((a, b) => a - b);
  return { medianMs: Number((ms[Math.floor(runs / 2)] as number).toFixed(1)), last };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-store-'));
  const log = createLogger('bench', 'silent');
  const store = new ChdbStore(join(dir, 'chdb'));
  try {
    await migrate(store, { database: 'shiplog', retentionDays: 30 }, log);
    await store.exec('CREATE TABLE shiplog.raw_ceiling AS shiplog.otel_logs');
    // Records as the agent ships them (JSON text), made before any clock starts.
    const gen = new RealisticLogs({ containers: CONTAINERS, spanMs: 2 * 86_400_000 });
    const now = Date.now();
    const needleAt = Math.floor(ROWS * 0.8);
    const records: Buffer[] = [];
    let lineBytes = 0;
    for (let made = 0; made < ROWS; made += PER_RECORD * CONTAINERS) {
      for (const r of gen.batch(PER_RECORD, now, ROWS, (i) => (i === needleAt ? 'payment gateway said needle-7f3a9c and gave up' : undefined))) {
        for (const l of r.lines) lineBytes += Buffer.byteLength(l.msg ?? '');
        records.push(Buffer.from(JSON.stringify(r)));
      }
    }
    const rows = records.length * PER_RECORD;

    // 1. Engine ceiling: the same rows, already encoded, straight into a copy of the table.
    const payloads: Buffer[] = [];
    {
      let enc = new RowEncoder();
      for (let i = 0; i < records.length; i++) {
        const d = decodeRecord(records[i] as Buffer, 64 << 20);
        if (d.ok) enc.add(d.record, { topic: 'bench', partition: 0, offset: String(i) });
        if (enc.rows >= INSERT_ROWS || i === records.length - 1) {
          payloads.push(enc.take());
          enc = new RowEncoder();
        }
      }
    }
    const t1 = process.hrtime.bigint();
    for (let i = 0; i < payloads.length; i++) await store.insertTsv('raw_ceiling', LOG_INSERT_COLUMNS, payloads[i] as Buffer, `raw-${i}`);
    const rawSec = secs(t1);

    // 2. The collector's path: decode + validate + encode + insert (no Kafka).
    const c0 = process.cpuUsage();
    const t2 = process.hrtime.bigint();
    let enc = new RowEncoder();
    let batch = 0;
    for (let i = 0; i < records.length; i++) {
      const d = decodeRecord(records[i] as Buffer, 64 << 20);
      if (!d.ok) throw new Error(d.detail);
      enc.add(d.record, { topic: 'bench', partition: 0, offset: String(i) });
      if (enc.rows >= INSERT_ROWS || i === records.length - 1) {
        await store.insertTsv('otel_logs', LOG_INSERT_COLUMNS, enc.take(), `b-${batch++}`);
        enc = new RowEncoder();
      }
    }
    const pathSec = secs(t2);
    const cpu = process.cpuUsage(c0);

    await store.exec('OPTIMIZE TABLE shiplog.otel_logs FINAL');
    const [disk] = await store.query<{ disk: string; unc: string; n: string }>(
      "SELECT toString(sum(bytes_on_disk)) AS disk, toString(sum(data_uncompressed_bytes)) AS unc, toString(sum(rows)) AS n FROM system.parts WHERE database = 'shiplog' AND table = 'otel_logs' AND active",
    );
    const onDisk = Number(disk?.disk);

    const needleSql = "SELECT count() AS c FROM shiplog.otel_logs WHERE hasToken(Body, 'needle') AND Timestamp >= now() - INTERVAL 1 DAY";
    const hourSql = "SELECT Timestamp, Body FROM shiplog.otel_logs WHERE ServiceName = 'api' AND ContainerName = 'api-1' AND Timestamp >= now() - INTERVAL 1 HOUR ORDER BY Timestamp DESC LIMIT 100";
    const needle = await timed((i) => store.query<{ c: number }>(`${needleSql} AND ${i} = ${i}`));
    const oneHour = await timed((i) => store.query(hourSql.replace(' ORDER BY', ` AND ${i} = ${i} ORDER BY`)));
    // Reference: a condition no index can help with reads every Body.
    const scan = await timed((i) => store.query<{ c: number }>(`SELECT count() AS c FROM shiplog.otel_logs WHERE cityHash64(Body) % 1000003 = ${i}`), 3);

    let commit = 'unknown';
    try {
      commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    } catch {
      // not a checkout
    }
    const result = {
      scenario: 'collector-store',
      date: new Date().toISOString(),
      commit,
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      rows,
      insertRows: INSERT_ROWS,
      rawChdbInsertRowsPerSec: Math.round(rows / rawSec),
      collectorPathRowsPerSec: Math.round(rows / pathSec),
      collectorVsRaw: Number((rawSec / pathSec).toFixed(3)),
      collectorCpuSecPerMillionRows: Number((((cpu.user + cpu.system) / 1e6) * (1e6 / rows)).toFixed(2)),
      lineBytesPerMillion: Math.round((lineBytes / rows) * 1e6),
      bytesOnDiskPerMillion: Math.round((onDisk / rows) * 1e6),
      compressionVsRawLines: Number((lineBytes / onDisk).toFixed(1)),
      compressionVsUncompressedColumns: Number((Number(disk?.unc) / onDisk).toFixed(1)),
      needleSearchMs: needle.medianMs,
      needleRowsToRead: await estimate(store, needleSql),
      needleFound: Number(needle.last[0]?.c),
      fullScanMs: scan.medianMs,
      oneContainerLastHourMs: oneHour.medianMs,
      oneContainerLastHourRowsToRead: await estimate(store, hourSql),
    };
    mkdirSync(join(root, 'bench/results'), { recursive: true });
    writeFileSync(join(root, 'bench/results/collector-store.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.table({
      'raw chDB insert (ceiling)': { 'rows/s': result.rawChdbInsertRowsPerSec },
      'collector path (validate+encode+insert)': { 'rows/s': result.collectorPathRowsPerSec, 'x ceiling': result.collectorVsRaw },
    });
    console.table({
      'bytes on disk / M lines': result.bytesOnDiskPerMillion,
      'raw line bytes / M lines': result.lineBytesPerMillion,
      'compression (raw lines : disk)': result.compressionVsRawLines,
      [`needle search over ${rows} rows (ms, median)`]: result.needleSearchMs,
      'needle: rows to read after pruning': result.needleRowsToRead,
      'reference: full scan of Body (ms)': result.fullScanMs,
      'one container last hour (ms)': result.oneContainerLastHourMs,
      'one container last hour: rows to read': result.oneContainerLastHourRowsToRead,
    });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
