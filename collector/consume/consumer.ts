/**
 * Kafka → storage, exactly once. One consumer group; per partition batch:
 *   decode + validate each record (bad ones → DLQ), encode rows, insert with a
 *   deduplication token made of topic/partition/offset range, and only then commit.
 * Every row also carries its Kafka offset: after a (re)assignment the collector asks storage
 * how far each partition is stored and skips what is there, so a crash between insert and
 * commit, or a rebalance in that window, stores nothing twice.
 * When storage (or the DLQ) fails, the batch is retried with backoff while heartbeating;
 * no offset moves until it succeeds.
 */
import { trace, SpanStatusCode } from '@opentelemetry/api';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { describe } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { CollectorMetrics } from '../metrics.js';
import { EVENTS_INSERT_COLUMNS, EVENTS_TABLE, LOG_INSERT_COLUMNS, LOGS_TABLE, STATS_INSERT_COLUMNS, STATS_TABLE, quoteIdent } from '../store/schema.js';
import type { CadvisorState } from '../metrics/cadvisor.js';
import { eventRow, statsRow, type EventRecord, type StatsRecord } from './aux-rows.js';
import type { LogStore } from '../store/store.js';
import { decodeRecord } from './decode-record.js';
import type { DeadLetters, Rejected } from './dlq.js';
import { RowEncoder } from './encode-rows.js';

const tracer = trace.getTracer('shiplog-collector');

export interface ConsumerConfig {
  groupId: string;
  logsTopic: string;
  statsTopic?: string;
  eventsTopic?: string;
  /** Fetch up to this many bytes per partition per batch. */
  batchBytes: number;
  /** Wait up to this long for a batch to fill. */
  batchWaitMs: number;
  maxRecordBytes: number;
  partitionsConcurrently: number;
  sessionTimeoutMs: number;
  /** Test-only fault injection: SIGKILL after the Nth insert, before its commit. 0 = off. */
  killAfterInserts?: number;
}

class Stale extends Error {}

/** The store refused the rows themselves (a value it cannot parse or hold), not the connection. */
class DataRejected extends Error {}

/** ClickHouse errors about the data in an insert, by code, name or wording (the HTTP interface may send only the text): retrying the same rows cannot help. */
const DATA_ERROR = /\bCode: (6|26|27|32|38|41|53|69|70|72|117|321|349)\b|CANNOT_PARSE|CANNOT_READ|INCORRECT_DATA|VALUE_IS_OUT_OF_RANGE|ARGUMENT_OUT_OF_BOUND|TYPE_MISMATCH|Cannot parse|Cannot read|is out of range/;


export class LogConsumer {
  private consumer: Consumer | undefined;
  /** Per "topic:partition": highest offset known to be stored; cleared on every group join. */
  private stored = new Map<string, bigint | null>();
  private inserts = 0;
  storageUp = true;
  running = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly store: LogStore,
    private readonly dlq: DeadLetters,
    private readonly cfg: ConsumerConfig,
    private readonly metrics: CollectorMetrics,
    private readonly log: Logger,
    private readonly containers?: CadvisorState,
  ) {}

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.cfg.groupId,
      sessionTimeout: this.cfg.sessionTimeoutMs,
      heartbeatInterval: Math.min(3_000, Math.floor(this.cfg.sessionTimeoutMs / 3)),
      maxBytesPerPartition: this.cfg.batchBytes,
      maxBytes: this.cfg.batchBytes * 4,
      minBytes: 1,
      maxWaitTimeInMs: this.cfg.batchWaitMs,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.stored.clear();
      // Container metrics follow partition ownership, so no two collectors export one container.
      if (this.cfg.statsTopic) this.containers?.retainPartitions(new Set<number>(e.payload.memberAssignment[this.cfg.statsTopic] ?? []));
      this.metrics.rebalances.inc();
      this.log.info({ assignment: e.payload.memberAssignment }, 'joined consumer group');
    });
    consumer.on(consumer.events.CRASH, (e) => this.log.error({ err: describe(e.payload.error), restart: e.payload.restart }, 'consumer crashed'));
    await consumer.connect();
    const topics = [this.cfg.logsTopic, this.cfg.statsTopic, this.cfg.eventsTopic].filter((t): t is string => !!t);
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.cfg.partitionsConcurrently,
      eachBatch: (p) => this.onBatch(p),
    });
    this.running = true;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.consumer?.disconnect().catch(() => undefined);
  }

  private async storedUpTo(table: string, topic: string, partition: number): Promise<bigint | null> {
    const key = `${topic}:${partition}`;
    const known = this.stored.get(key);
    if (known !== undefined) return known;
    const rows = await this.store.query<{ o: string; c: string }>(
      `SELECT toString(max(KafkaOffset)) AS o, toString(count()) AS c FROM ${quoteIdent(this.store.database)}.${quoteIdent(table)} WHERE KafkaTopic = {t:String} AND KafkaPartition = {p:UInt32}`,
      { t: topic, p: partition },
    );
    const v = rows[0] && rows[0].c !== '0' ? BigInt(rows[0].o) : null;
    this.stored.set(key, v);
    return v;
  }

  private async onBatch(p: EachBatchPayload): Promise<void> {
    if (p.batch.isEmpty()) return;
    if (p.batch.topic === this.cfg.logsTopic) return this.onLogBatch(p);
    return this.onAuxBatch(p, p.batch.topic === this.cfg.statsTopic ? 'stats' : 'events');
  }

  /** Stats samples and lifecycle events: same guarantees as logs, smaller records. */
  private async onAuxBatch(p: EachBatchPayload, kind: 'stats' | 'events'): Promise<void> {
    const { batch } = p;
    const { topic, partition } = batch;
    const last = batch.lastOffset();
    const table = kind === 'stats' ? STATS_TABLE : EVENTS_TABLE;
    try {
      const stored = await this.retry('read stored offsets', () => this.storedUpTo(table, topic, partition), p);
      let tsv = '';
      let rows = 0;
      let firstNew: string | undefined;
      const rejected: Rejected[] = [];
      const rowOf = (rec: StatsRecord | EventRecord, at: { topic: string; partition: number; offset: string }) =>
        kind === 'stats' ? statsRow(rec as StatsRecord, at) : eventRow(rec as EventRecord, at);
      /** The records encoded into the batch (encoded again one by one if the store refuses it). */
      const accepted: KafkaMessage[] = [];
      for (const m of batch.messages) {
        if (stored !== null && BigInt(m.offset) <= stored) continue;
        firstNew ??= m.offset;
        const d = decodeRecord<StatsRecord | EventRecord>(m.value, this.cfg.maxRecordBytes, kind);
        if (!d.ok) {
          rejected.push({ topic, partition, offset: m.offset, key: m.key, value: m.value, reason: d.reason, detail: d.detail });
          continue;
        }
        try {
          const at = { topic, partition, offset: m.offset };
          tsv += rowOf(d.record, at);
          rows++;
          accepted.push(m);
        } catch (err) {
          rejected.push({ topic, partition, offset: m.offset, key: m.key, value: m.value, reason: 'unencodable', detail: describe(err) });
          continue;
        }
        // Metrics state follows what is stored.
        if (kind === 'stats') this.containers?.onStats(d.record as StatsRecord, partition);
        else this.containers?.onEvent(d.record as EventRecord, partition);
      }
      this.metrics.recordsConsumed.inc({ topic }, batch.messages.length);
      if (rejected.length) await this.retry('write to the DLQ', () => this.dlq.send(rejected), p, true);
      if (rows > 0) {
        const encodeOne = (m: KafkaMessage) => {
          const d = decodeRecord<StatsRecord | EventRecord>(m.value, this.cfg.maxRecordBytes, kind);
          if (!d.ok) return Buffer.alloc(0);
          return Buffer.from(rowOf(d.record, { topic, partition, offset: m.offset }));
        };
        const stored = await this.insertBatch(p, table, kind === 'stats' ? STATS_INSERT_COLUMNS : EVENTS_INSERT_COLUMNS, Buffer.from(tsv), `${topic}:${partition}:${firstNew}-${last}`, accepted, encodeOne);
        this.metrics.rowsInserted.inc({ table }, stored === 'all' ? rows : stored.size);
        this.metrics.batchRows.observe({ table }, rows);
        this.stored.set(`${topic}:${partition}`, BigInt(last));
      }
      if (p.isStale()) return;
      await this.consumer?.commitOffsets([{ topic, partition, offset: (BigInt(last) + 1n).toString() }]);
      p.resolveOffset(last);
      this.metrics.consumerLag.set({ topic, partition: String(partition) }, Number(batch.offsetLag()));
      await p.heartbeat().catch(() => undefined);
    } catch (err) {
      if (err instanceof Stale) return;
      throw err;
    }
  }

  private async onLogBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    const { topic, partition } = batch;
    const first = batch.firstOffset() as string;
    const last = batch.lastOffset();
    await tracer.startActiveSpan('shiplog.consume_batch', { attributes: { 'messaging.destination.name': topic, 'messaging.kafka.partition': partition, 'messaging.batch.message_count': batch.messages.length } }, async (span) => {
      try {
        const stored = await this.retry('read stored offsets', () => this.storedUpTo(LOGS_TABLE, topic, partition), p);
        const enc = new RowEncoder();
        const rejected: Rejected[] = [];
        /** The records encoded into the batch (encoded again one by one if the store refuses it). */
        const accepted: KafkaMessage[] = [];
        let skipped = 0;
        let firstNew: string | undefined;
        for (const m of batch.messages) {
          if (stored !== null && BigInt(m.offset) <= stored) {
            skipped++;
            continue;
          }
          firstNew ??= m.offset;
          const d = decodeRecord(m.value, this.cfg.maxRecordBytes);
          if (d.ok) {
            try {
              enc.add(d.record, { topic, partition, offset: m.offset });
              accepted.push(m);
              continue;
            } catch (err) {
              rejected.push({ topic, partition, offset: m.offset, key: m.key, value: m.value, reason: 'unencodable', detail: describe(err) });
              continue;
            }
          }
          rejected.push({ topic, partition, offset: m.offset, key: m.key, value: m.value, reason: d.reason, detail: d.detail });
        }
        this.metrics.recordsConsumed.inc({ topic }, batch.messages.length);
        if (skipped) {
          this.metrics.recordsSkipped.inc({ topic }, skipped);
          this.log.info({ topic, partition, skipped, storedUpTo: String(stored) }, 'skipped records already in storage');
        }
        if (rejected.length) await this.retry('write to the DLQ', () => this.dlq.send(rejected), p, true);
        const rows = enc.rows;
        if (rows > 0) {
          const times = enc.lineTimesMs;
          const data = enc.take();
          // Same range, same token: a retried insert of this batch is stored once.
          const token = `${topic}:${partition}:${firstNew ?? first}-${last}`;
          const stored = await tracer.startActiveSpan('shiplog.insert', { attributes: { 'db.system': 'clickhouse', 'db.collection.name': LOGS_TABLE, 'db.operation.batch.size': rows } }, async (ispan) => {
            try {
              const encodeOne = (m: KafkaMessage) => {
                const one = new RowEncoder();
                const d = decodeRecord(m.value, this.cfg.maxRecordBytes);
                if (d.ok) one.add(d.record, { topic, partition, offset: m.offset });
                return one.take();
              };
              return await this.insertBatch(p, LOGS_TABLE, LOG_INSERT_COLUMNS, data, token, accepted, encodeOne);
            } finally {
              ispan.end();
            }
          });
          // Counts below are of the batch; after a refused batch they include the refused records' lines (rare, each logged).
          this.metrics.rowsInserted.inc({ table: LOGS_TABLE }, rows);
          if (stored !== 'all') this.log.warn({ topic, partition, stored: stored.size, records: accepted.length }, 'batch stored record by record after the store refused it');
          for (const [k, count] of enc.lineCounts) {
            const [host, name, stream, level] = k.split('\u0000') as [string, string, string, string];
            this.metrics.logLines.inc({ host, name, stream, level }, count);
          }
          const now = Date.now();
          for (const t of times) this.metrics.endToEndSeconds.observe(Math.max(0, (now - t) / 1000));
          this.metrics.batchRows.observe({ table: LOGS_TABLE }, rows);
          this.stored.set(`${topic}:${partition}`, BigInt(last));
          if (this.cfg.killAfterInserts && ++this.inserts === this.cfg.killAfterInserts) process.kill(process.pid, 'SIGKILL');
        }
        if (p.isStale()) return;
        await this.consumer?.commitOffsets([{ topic, partition, offset: (BigInt(last) + 1n).toString() }]);
        p.resolveOffset(last);
        const lag = batch.offsetLag();
        this.metrics.consumerLag.set({ topic, partition: String(partition) }, Number(lag));
        // A rebalance reported here is handled by kafkajs on the next fetch.
        await p.heartbeat().catch(() => undefined);
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: describe(err) });
        if (err instanceof Stale) return;
        throw err;
      } finally {
        span.end();
      }
    });
  }

  /**
   * Inserts a batch (retrying while the store is unreachable). If the store refuses the rows
   * themselves, the batch's records are inserted one by one, in offset order, each with a
   * token of its own; records refused alone go to the DLQ as `unstorable` with the store's
   * message, and the partition moves on. Returns 'all' or the offsets stored.
   */
  private async insertBatch(p: EachBatchPayload, table: string, columns: readonly string[], data: Buffer, token: string, records: KafkaMessage[], encodeOne: (m: KafkaMessage) => Buffer): Promise<'all' | Set<string>> {
    const { topic, partition } = p.batch;
    const insert = (buf: Buffer, tok: string) =>
      this.retry('insert', async () => {
        const end = this.metrics.insertSeconds.startTimer({ table });
        await this.store.insertTsv(table, columns, buf, tok);
        end();
      }, p, false, true);
    try {
      await insert(data, token);
      return 'all';
    } catch (err) {
      if (!(err instanceof DataRejected)) throw err;
      this.log.warn({ topic, partition, table, records: records.length, err: err.message }, 'the store refused a batch; storing its records one by one');
    }
    const stored = new Set<string>();
    const refused: Rejected[] = [];
    for (const m of records) {
      try {
        await insert(encodeOne(m), `${topic}:${partition}:${m.offset}-${m.offset}`);
        stored.add(m.offset);
      } catch (err) {
        if (!(err instanceof DataRejected)) throw err;
        refused.push({ topic, partition, offset: m.offset, key: m.key, value: m.value, reason: 'unstorable', detail: err.message.replace(/\s+/g, ' ').slice(0, 1000) });
      }
    }
    if (refused.length) await this.retry('write to the DLQ', () => this.dlq.send(refused), p, true);
    return stored;
  }

  /** Retries op with backoff, heartbeating, until it succeeds or the partition is taken away. */
  private async retry<T>(what: string, op: () => Promise<T>, p: EachBatchPayload, dlq = false, dataErrorsFinal = false): Promise<T> {
    let backoff = 250;
    while (true) {
      try {
        const r = await op();
        if (!dlq && !this.storageUp) this.log.info('storage is back; consuming again');
        if (!dlq) this.storageUp = true;
        return r;
      } catch (err) {
        if (dataErrorsFinal && DATA_ERROR.test(describe(err))) {
          // The store answered, so it is up; these rows will never go in as they are.
          this.storageUp = true;
          throw new DataRejected(describe(err));
        }
        if (dlq) this.metrics.dlqErrors.inc();
        else {
          this.metrics.storageErrors.inc();
          this.storageUp = false;
        }
        this.log.warn({ err: describe(err), retryInMs: backoff, topic: p.batch.topic, partition: p.batch.partition }, `${what} failed; retrying (offsets stay where they are)`);
        if (!p.isRunning() || p.isStale()) throw new Stale();
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 10_000);
        try {
          await p.heartbeat();
        } catch {
          // A rebalance: give the partition back without committing.
          throw new Stale();
        }
      }
    }
  }
}
