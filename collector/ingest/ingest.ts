/**
 * The one way records reach the store, for the Kafka consumer (per partition batch) and for
 * `shiplog up` (per shipper batch) alike:
 *   skip what the store already holds → decode and validate each record → encode rows →
 *   set the rejected apart → insert under a deduplication token → set apart what the store
 *   refuses (one line or one record at a time, the rest stored) → metrics and after-store hooks.
 * The caller decides what a failure means through its IngestTarget: the consumer retries while
 * the store is unreachable (offsets stay put), `shiplog up` fails the send (the shipper
 * retries it with the same offsets, hence the same tokens). Either way nothing is stored twice.
 */
import { SpanKind, trace } from '@opentelemetry/api';
import type { LogRecord } from '../../lib/records.js';
import type { Logger } from '../../lib/logger.js';
import type { CollectorMetrics } from '../metrics.js';
import type { CadvisorState } from '../metrics/cadvisor.js';
import { insertIsolating } from '../store/insert-isolating.js';
import type { LogStore } from '../store/store.js';
import { decodeRecord, type RejectReason } from './decode-record.js';
import { RowEncoder } from './encode-rows.js';
import type { LogKind, RowKind } from './kinds.js';
import { storeLogRows, type BatchRecord } from './store-log-rows.js';

const tracer = trace.getTracer('shiplog-collector');

/** One record as it arrived: a Kafka message's bytes, or the in-process agent's JSON text. */
export interface Incoming {
  offset: string;
  key: Buffer | string | null;
  value: Buffer | string | null;
}

/** Bytes of a key or value, for a record set apart (text only becomes bytes then). */
const bytesOf = (v: Buffer | string | null): Buffer | null => (typeof v === 'string' ? Buffer.from(v) : v);

/** A record set apart with the reason: to the DLQ topic, or the dead-letter table of `shiplog up`. */
export interface Rejected {
  topic: string;
  partition: number;
  offset: string;
  /** For one line split off a log record: its place in the record (the value is a record of that line alone). */
  line?: number;
  key: Buffer | null;
  value: Buffer | null;
  reason: RejectReason | 'unencodable' | 'unstorable';
  detail: string;
}

/** Stored up to this record, and in it up to this line (Infinity: the whole record). */
export interface StoredUpTo {
  offset: bigint;
  line: number;
}

export interface IngestTarget {
  readonly store: LogStore;
  /** Where rejected records are kept, for the log line. */
  readonly deadLetterPlace: string;
  /**
   * Runs one store operation under the caller's policy. A refusal of the data itself
   * (isDataRefusal) must be thrown as it is: ingest sets the refused rows apart.
   */
  run<T>(what: string, op: () => Promise<T>): Promise<T>;
  /** Keeps rejected records; resolves once they are kept (token: the same on a retried batch). */
  reject(rejected: Rejected[], token: string): Promise<void>;
}

export interface IngestBatch {
  topic: string;
  partition: number;
  records: readonly Incoming[];
  /** What the store holds already of this partition (null: nothing, or not asked). */
  storedUpTo: StoredUpTo | null;
  /** Tokens are `<tokenBase>:<first new offset>-<last offset>`, so a retried batch is stored once. */
  tokenBase: string;
}

export interface IngestContext {
  metrics: CollectorMetrics;
  log: Logger;
  /** The cAdvisor metrics state, told of each stored stats sample and event. */
  containers?: CadvisorState;
  maxRecordBytes: number;
  /** False for records made by this process's own agent (`shiplog up`): parsed, not validated again. */
  validate: boolean;
  /** Test-only fault injection: log lines containing this are encoded as rows the store refuses. */
  faultText?: string;
}

export interface IngestResult {
  /** Records the store held already. */
  skipped: number;
  /** Rows encoded and inserted (refused ones included). */
  rows: number;
  /** Rows the store refused, set apart one by one. */
  refused: number;
  /** Records set apart before the insert (undecodable, invalid, unencodable). */
  rejected: number;
}

/** Stores a batch of one kind; see the file comment. Throws what target.run or target.reject throw. */
export async function ingest(kind: LogKind | RowKind<unknown>, b: IngestBatch, target: IngestTarget, ctx: IngestContext): Promise<IngestResult> {
  return kind.name === 'logs' ? ingestLogs(kind as LogKind, b, target, ctx) : ingestRows(kind as RowKind<unknown>, b, target, ctx);
}

async function ingestLogs(kind: LogKind, b: IngestBatch, target: IngestTarget, ctx: IngestContext): Promise<IngestResult> {
  const { topic, partition, storedUpTo: stored } = b;
  const enc = new RowEncoder();
  const rejected: Rejected[] = [];
  const accepted: (BatchRecord & { m: Incoming })[] = [];
  let skipped = 0;
  let firstNew: string | undefined;
  for (const m of b.records) {
    const off = BigInt(m.offset);
    if (stored !== null && off < stored.offset) {
      skipped++;
      continue;
    }
    const d = decodeRecord(m.value, ctx.maxRecordBytes, 'logs', ctx.validate);
    let only: number[] | undefined;
    if (stored !== null && off === stored.offset) {
      // Stored up to a line of this record (or all of it).
      const n = d.ok ? d.record.lines.length : 0;
      if (!d.ok || stored.line + 1 >= n) {
        skipped++;
        continue;
      }
      only = Array.from({ length: n - stored.line - 1 }, (_, i) => stored.line + 1 + i);
    }
    firstNew ??= m.offset;
    if (!d.ok) {
      rejected.push({ topic, partition, offset: m.offset, key: bytesOf(m.key), value: bytesOf(m.value), reason: d.reason, detail: d.detail });
      continue;
    }
    const at = { topic, partition, offset: m.offset };
    try {
      enc.add(d.record, at, only);
      accepted.push({ m, rec: d.record, at, only });
    } catch (err) {
      rejected.push({ topic, partition, offset: m.offset, key: bytesOf(m.key), value: bytesOf(m.value), reason: 'unencodable', detail: (err as Error).message });
    }
  }
  const token = `${b.tokenBase}:${firstNew}-${b.records[b.records.length - 1]?.offset}`;
  await setApart(rejected, token, target, ctx);
  const rows = enc.rows;
  if (rows === 0) return { skipped, rows: 0, refused: 0, rejected: rejected.length };
  const times = enc.lineTimesMs;
  const data = enc.take();
  const dbAttributes = { 'db.system.name': 'clickhouse', 'db.namespace': target.store.database, 'db.collection.name': kind.table, 'db.operation.name': 'INSERT', 'db.operation.batch.size': rows };
  const refused = await tracer.startActiveSpan(`INSERT ${kind.table}`, { kind: SpanKind.CLIENT, attributes: dbAttributes }, async (span) => {
    try {
      return await storeLogRows({
        records: accepted,
        data,
        token,
        faultText: ctx.faultText,
        insert: (buf, tok) => timedInsert(kind.table, kind.columns, buf, tok, target, ctx),
        deadLetter: async (r, line, oneLine: LogRecord, detail) => {
          ctx.log.warn({ topic, partition, offset: r.at.offset, line, detail }, 'the store refused a line; setting it apart, storing the rest');
          await setApart([{ topic, partition, offset: r.at.offset, line, key: bytesOf(r.m.key), value: Buffer.from(JSON.stringify(oneLine)), reason: 'unstorable', detail }], token, target, ctx);
        },
      });
    } finally {
      span.end();
    }
  });
  ctx.metrics.rowsInserted.inc({ table: kind.table }, rows - refused);
  ctx.metrics.batchRows.observe({ table: kind.table }, rows);
  ctx.metrics.countLines(enc.lineCounts);
  const now = Date.now();
  for (const t of times) ctx.metrics.endToEndSeconds.observe(Math.max(0, (now - t) / 1000));
  return { skipped, rows, refused, rejected: rejected.length };
}

async function ingestRows<R>(kind: RowKind<R>, b: IngestBatch, target: IngestTarget, ctx: IngestContext): Promise<IngestResult> {
  const { topic, partition, storedUpTo: stored } = b;
  const rejected: Rejected[] = [];
  const accepted: { m: Incoming; rec: R; row: string }[] = [];
  let skipped = 0;
  let firstNew: string | undefined;
  for (const m of b.records) {
    if (stored !== null && BigInt(m.offset) <= stored.offset) {
      skipped++;
      continue;
    }
    firstNew ??= m.offset;
    const d = decodeRecord<R>(m.value, ctx.maxRecordBytes, kind.name, ctx.validate);
    if (!d.ok) {
      rejected.push({ topic, partition, offset: m.offset, key: bytesOf(m.key), value: bytesOf(m.value), reason: d.reason, detail: d.detail });
      continue;
    }
    try {
      accepted.push({ m, rec: d.record, row: kind.row(d.record, { topic, partition, offset: m.offset }) });
    } catch (err) {
      rejected.push({ topic, partition, offset: m.offset, key: bytesOf(m.key), value: bytesOf(m.value), reason: 'unencodable', detail: (err as Error).message });
    }
  }
  const token = `${b.tokenBase}:${firstNew}-${b.records[b.records.length - 1]?.offset}`;
  await setApart(rejected, token, target, ctx);
  if (!accepted.length) return { skipped, rows: 0, refused: 0, rejected: rejected.length };
  type Row = (typeof accepted)[number];
  const encode = (part: readonly Row[]) => Buffer.from(part.map((r) => r.row).join(''));
  const r = await insertIsolating<Row>(
    () => timedInsert(kind.table, kind.columns, encode(accepted), token, target, ctx),
    () => accepted,
    (part) => timedInsert(kind.table, kind.columns, encode(part), `${token}/${(part[0] as Row).m.offset}-${(part[part.length - 1] as Row).m.offset}`, target, ctx),
    async (row, detail) => {
      await setApart([{ topic, partition, offset: row.m.offset, key: bytesOf(row.m.key), value: bytesOf(row.m.value), reason: 'unstorable', detail }], token, target, ctx);
    },
  );
  const refused = new Set(r.refused);
  ctx.metrics.rowsInserted.inc({ table: kind.table }, accepted.length - refused.size);
  ctx.metrics.batchRows.observe({ table: kind.table }, accepted.length);
  if (ctx.containers) for (const a of accepted) if (!refused.has(a)) kind.afterStore(ctx.containers, a.rec, partition);
  return { skipped, rows: accepted.length, refused: refused.size, rejected: rejected.length };
}

/** Hands rejected records to the target, then counts and logs each (the token names the first). */
async function setApart(rejected: Rejected[], token: string, target: IngestTarget, ctx: IngestContext): Promise<void> {
  const first = rejected[0];
  if (!first) return;
  await target.reject(rejected, `${token}:dead:${first.offset}${first.line === undefined ? '' : `.${first.line}`}`);
  for (const r of rejected) {
    ctx.metrics.recordsRejected.inc({ topic: r.topic, reason: r.reason });
    ctx.log.warn({ topic: r.topic, partition: r.partition, offset: r.offset, line: r.line, reason: r.reason, detail: r.detail }, `record set apart in ${target.deadLetterPlace}`);
  }
}

/** One insert under the target's policy, timed per attempt. */
function timedInsert(table: string, columns: readonly string[], data: Buffer, token: string, target: IngestTarget, ctx: IngestContext): Promise<void> {
  return target.run('insert', async () => {
    const end = ctx.metrics.insertSeconds.startTimer({ table });
    await target.store.insertTsv(table, columns, data, token);
    end();
  });
}
