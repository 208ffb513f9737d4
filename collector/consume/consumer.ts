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
import kafkajs, { type Consumer, type EachBatchPayload, type Kafka, type KafkaMessage } from 'kafkajs';
import { describe } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { CollectorMetrics } from '../metrics.js';
import { EVENTS_INSERT_COLUMNS, EVENTS_TABLE, LOG_INSERT_COLUMNS, LOGS_TABLE, STATS_INSERT_COLUMNS, STATS_TABLE, quoteIdent } from '../store/schema.js';
import type { CadvisorState } from '../metrics/cadvisor.js';
import { eventRow, statsRow, type EventRecord, type StatsRecord } from './aux-rows.js';
import { insertIsolating } from '../store/insert-isolating.js';
import { isDataRefusal, type LogStore } from '../store/store.js';
import { decodeRecord } from './decode-record.js';
import { storeLogRows, type BatchRecord } from './store-log-rows.js';
import type { DeadLetters, Rejected } from './dlq.js';
import { RowEncoder } from './encode-rows.js';

const { KafkaJSNonRetriableError } = kafkajs;
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
  /** Test-only fault injection: lines containing this text are encoded as rows the store refuses. */
  faultUnstorableText?: string;
  /** Test-only fault injection: the first N log batches fail with an error kafkajs does not retry (it crashes the consumer). */
  faultCrashBatches?: number;
}

class Stale extends Error {}

const RESTART_MIN_MS = 1_000;
const RESTART_MAX_MS = 60_000;
/** Without word from Kafka for this long, the consumer is not ready (an idle fetch returns every batchWaitMs). */
const CONTACT_STALE_MS = 20_000;

/** Stored up to this record, and in it up to this line (Infinity: the whole record). */
interface Stored {
  offset: bigint;
  line: number;
}




export class LogConsumer {
  private consumer: Consumer | undefined;
  /** Per "topic:partition": how far it is known to be stored; cleared on every group join. */
  private stored = new Map<string, Stored | null>();
  private inserts = 0;
  storageUp = true;
  running = false;
  private stopping = false;
  /** Last time Kafka answered this consumer (a fetch, a heartbeat, a batch). */
  private lastContact = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartBackoffMs = RESTART_MIN_MS;
  private crashedOnPurpose = 0;

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
      // A fetch waits (up to batchWaitMs) for a worthwhile batch: on a quiet topic one insert
      // a second per partition instead of one per record; at flood rates it fills at once.
      minBytes: Math.min(this.cfg.batchBytes, 256 * 1024),
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
    const contact = () => {
      this.lastContact = Date.now();
    };
    for (const ev of [consumer.events.FETCH, consumer.events.HEARTBEAT, consumer.events.GROUP_JOIN]) consumer.on(ev, contact);
    consumer.on(consumer.events.END_BATCH_PROCESS, () => {
      contact();
      this.restartBackoffMs = RESTART_MIN_MS;
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.metrics.consumerCrashes.inc({ group: this.cfg.groupId });
      this.log.error({ err: describe(e.payload.error), restart: e.payload.restart, group: this.cfg.groupId }, 'consumer crashed');
      // kafkajs restarts by itself after a retriable error; after any other, so do we, with backoff.
      if (!e.payload.restart) this.scheduleRestart(consumer);
    });
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
    this.lastContact = Date.now();
  }

  /** True while the consumer runs and Kafka answered it recently. */
  ready(): boolean {
    return this.running && Date.now() - this.lastContact < CONTACT_STALE_MS;
  }

  private scheduleRestart(crashed: Consumer): void {
    this.running = false;
    if (this.stopping || this.restartTimer) return;
    // Full jitter: collectors that crashed on the same batch do not restart in step.
    const delay = Math.round(this.restartBackoffMs / 2 + Math.random() * (this.restartBackoffMs / 2));
    this.restartBackoffMs = Math.min(this.restartBackoffMs * 2, RESTART_MAX_MS);
    this.log.warn({ group: this.cfg.groupId, restartInMs: delay }, 'restarting the consumer');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void (async () => {
        await crashed.disconnect().catch(() => undefined);
        if (this.stopping) return;
        try {
          await this.start();
          this.log.info({ group: this.cfg.groupId }, 'consumer restarted');
        } catch (err) {
          this.log.warn({ err: describe(err), group: this.cfg.groupId }, 'consumer restart failed');
          this.scheduleRestart(this.consumer ?? crashed);
        }
      })();
    }, delay);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    this.running = false;
    await this.consumer?.disconnect().catch(() => undefined);
  }

  /**
   * How far a partition is stored: the highest offset and, for logs, the highest line of that
   * record (a record whose bad line was split off may be stored only up to some line).
   */
  private async storedUpTo(table: string, topic: string, partition: number): Promise<Stored | null> {
    const key = `${topic}:${partition}`;
    const known = this.stored.get(key);
    if (known !== undefined) return known;
    const line = table === LOGS_TABLE ? 'RecordLine' : '0';
    const rows = await this.store.query<{ o: string; l: string; c: string }>(
      `SELECT toString(max(KafkaOffset)) AS o, toString(argMax(${line}, (KafkaOffset, ${line}))) AS l, toString(count()) AS c FROM ${quoteIdent(this.store.database)}.${quoteIdent(table)} WHERE KafkaTopic = {t:String} AND KafkaPartition = {p:UInt32}`,
      { t: topic, p: partition },
    );
    const v = rows[0] && rows[0].c !== '0' ? { offset: BigInt(rows[0].o), line: table === LOGS_TABLE ? Number(rows[0].l) : Infinity } : null;
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
        if (stored !== null && BigInt(m.offset) <= stored.offset) continue;
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
        const encode = (part: readonly KafkaMessage[]) => {
          let text = '';
          for (const m of part) {
            const d = decodeRecord<StatsRecord | EventRecord>(m.value, this.cfg.maxRecordBytes, kind);
            if (d.ok) text += rowOf(d.record, { topic, partition, offset: m.offset });
          }
          return Buffer.from(text);
        };
        const stored = await this.insertAuxRows(p, table, kind === 'stats' ? STATS_INSERT_COLUMNS : EVENTS_INSERT_COLUMNS, Buffer.from(tsv), `${topic}:${partition}:${firstNew}-${last}`, accepted, encode);
        this.metrics.rowsInserted.inc({ table }, stored);
        this.metrics.batchRows.observe({ table }, rows);
        this.stored.set(`${topic}:${partition}`, { offset: BigInt(last), line: Infinity });
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
    if (this.cfg.faultCrashBatches && this.crashedOnPurpose < this.cfg.faultCrashBatches) {
      this.crashedOnPurpose++;
      throw new KafkaJSNonRetriableError('fault injection: SHIPLOG_FAULT_CRASH_BATCHES');
    }
    const { batch } = p;
    const { topic, partition } = batch;
    const first = batch.firstOffset() as string;
    const last = batch.lastOffset();
    await tracer.startActiveSpan('shiplog.consume_batch', { attributes: { 'messaging.destination.name': topic, 'messaging.kafka.partition': partition, 'messaging.batch.message_count': batch.messages.length } }, async (span) => {
      try {
        const stored = await this.retry('read stored offsets', () => this.storedUpTo(LOGS_TABLE, topic, partition), p);
        const enc = new RowEncoder();
        const rejected: Rejected[] = [];
        /** The records encoded into the batch, with the lines of each that are in it (undefined: all). */
        const accepted: (BatchRecord & { msg: KafkaMessage })[] = [];
        let skipped = 0;
        let firstNew: string | undefined;
        for (const m of batch.messages) {
          const off = BigInt(m.offset);
          if (stored !== null && off < stored.offset) {
            skipped++;
            continue;
          }
          const d = decodeRecord(m.value, this.cfg.maxRecordBytes);
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
            rejected.push({ topic, partition, offset: m.offset, key: m.key, value: m.value, reason: d.reason, detail: d.detail });
            continue;
          }
          try {
            enc.add(d.record, { topic, partition, offset: m.offset }, only);
            accepted.push({ msg: m, rec: d.record, at: { topic, partition, offset: m.offset }, only });
          } catch (err) {
            rejected.push({ topic, partition, offset: m.offset, key: m.key, value: m.value, reason: 'unencodable', detail: describe(err) });
          }
        }
        this.metrics.recordsConsumed.inc({ topic }, batch.messages.length);
        if (skipped) {
          this.metrics.recordsSkipped.inc({ topic }, skipped);
          this.log.info({ topic, partition, skipped, storedUpTo: String(stored?.offset) }, 'skipped records already in storage');
        }
        if (rejected.length) await this.retry('write to the DLQ', () => this.dlq.send(rejected), p, true);
        const rows = enc.rows;
        if (rows > 0) {
          const times = enc.lineTimesMs;
          const data = enc.take();
          // Same range, same token: a retried insert of this batch is stored once.
          const token = `${topic}:${partition}:${firstNew ?? first}-${last}`;
          const refused = await tracer.startActiveSpan('shiplog.insert', { attributes: { 'db.system': 'clickhouse', 'db.collection.name': LOGS_TABLE, 'db.operation.batch.size': rows } }, async (ispan) => {
            try {
              return await this.insertLogRows(p, data, token, accepted);
            } finally {
              ispan.end();
            }
          });
          this.metrics.rowsInserted.inc({ table: LOGS_TABLE }, rows - refused);
          this.metrics.countLines(enc.lineCounts);
          const now = Date.now();
          for (const t of times) this.metrics.endToEndSeconds.observe(Math.max(0, (now - t) / 1000));
          this.metrics.batchRows.observe({ table: LOGS_TABLE }, rows);
          this.stored.set(`${topic}:${partition}`, { offset: BigInt(last), line: Infinity });
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

  /** Inserts a log batch, retrying while the store is unreachable; refused lines go to the DLQ (store-log-rows.ts). Returns how many were refused. */
  private async insertLogRows(p: EachBatchPayload, data: Buffer, token: string, records: (BatchRecord & { msg: KafkaMessage })[]): Promise<number> {
    const { topic, partition } = p.batch;
    return storeLogRows({
      records,
      data,
      token,
      faultText: this.cfg.faultUnstorableText,
      insert: (buf, tok) => this.timedInsert(p, LOGS_TABLE, LOG_INSERT_COLUMNS, buf, tok),
      deadLetter: async (r, line, oneLine, detail) => {
        this.log.warn({ topic, partition, offset: r.at.offset, line, detail }, 'the store refused a line; sending it to the DLQ, storing the rest');
        const m = r.msg;
        await this.retry('write to the DLQ', () => this.dlq.send([{ topic, partition, offset: m.offset, line, key: m.key, value: Buffer.from(JSON.stringify(oneLine)), reason: 'unstorable', detail }]), p, true);
      },
    });
  }

  /**
   * Inserts a stats or events batch; a batch the store refuses is split until the refused
   * records stand alone (one row each), which go to the DLQ as `unstorable`. Returns how many
   * records were stored.
   */
  private async insertAuxRows(p: EachBatchPayload, table: string, columns: readonly string[], data: Buffer, token: string, records: KafkaMessage[], encode: (part: readonly KafkaMessage[]) => Buffer): Promise<number> {
    const { topic, partition } = p.batch;
    const r = await insertIsolating(
      () => this.timedInsert(p, table, columns, data, token),
      () => records,
      (part) => this.timedInsert(p, table, columns, encode(part), `${topic}:${partition}:${(part[0] as KafkaMessage).offset}-${(part[part.length - 1] as KafkaMessage).offset}`),
      async (m, detail) => {
        await this.retry('write to the DLQ', () => this.dlq.send([{ topic, partition, offset: m.offset, key: m.key, value: m.value, reason: 'unstorable', detail }]), p, true);
      },
    );
    return records.length - r.refused.length;
  }

  /** One insert, timed, retried while the store is unreachable (retry below). */
  private timedInsert(p: EachBatchPayload, table: string, columns: readonly string[], data: Buffer, token: string): Promise<void> {
    return this.retry('insert', async () => {
      const end = this.metrics.insertSeconds.startTimer({ table });
      await this.store.insertTsv(table, columns, data, token);
      end();
    }, p);
  }

  /**
   * Retries op with backoff, heartbeating, until it succeeds or the partition is taken away.
   * A store's refusal of the data itself is thrown at once: retrying the same rows cannot help.
   */
  private async retry<T>(what: string, op: () => Promise<T>, p: EachBatchPayload, dlq = false): Promise<T> {
    let backoff = 250;
    while (true) {
      try {
        const r = await op();
        if (!dlq && !this.storageUp) this.log.info('storage is back; consuming again');
        if (!dlq) this.storageUp = true;
        return r;
      } catch (err) {
        if (!dlq && isDataRefusal(err)) {
          // The store answered, so it is up; these rows will never go in as they are.
          this.storageUp = true;
          throw err;
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
