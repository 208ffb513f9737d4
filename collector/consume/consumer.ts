/**
 * Kafka → storage, exactly once. One consumer group; per partition batch, the shared ingest
 * path (ingest/ingest.ts: decode + validate each record, bad ones → DLQ, encode rows, insert
 * with a deduplication token made of topic/partition/offset range), and only then commit.
 * Every row also carries its Kafka offset: after a (re)assignment the collector asks storage
 * how far each partition is stored and skips what is there, so a crash between insert and
 * commit, or a rebalance in that window, stores nothing twice.
 * When storage (or the DLQ) fails, the batch is retried with backoff while heartbeating;
 * no offset moves until it succeeds.
 */
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { linksFromHeaders } from '../../lib/tracing.js';
import kafkajs, { type Consumer, type EachBatchPayload, type Kafka } from 'kafkajs';
import { describe } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { ingest, type IngestContext, type IngestTarget, type StoredUpTo } from '../ingest/ingest.js';
import { EVENTS, LOGS, STATS, type AnyKind } from '../ingest/kinds.js';
import type { CollectorMetrics } from '../metrics.js';
import type { CadvisorState } from '../metrics/cadvisor.js';
import { quoteIdent } from '../store/schema.js';
import { isDataRefusal, type LogStore } from '../store/store.js';
import type { DeadLetters } from './dlq.js';
import { Backoff, sleep } from '../../lib/retry.js';

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
  /** Test-only fault hook (lib/faults.ts): called after each log insert, before its commit. */
  afterInsert?: () => void;
  /** Test-only fault injection: lines containing this text are encoded as rows the store refuses. */
  faultUnstorableText?: string;
  /** Test-only fault hook: called before each log batch; what it throws crashes the consumer (kafkajs does not retry it). */
  beforeBatch?: () => void;
}

class Stale extends Error {}

/** Without word from Kafka for this long, the consumer is not ready (an idle fetch returns every batchWaitMs). */
const CONTACT_STALE_MS = 20_000;

export class LogConsumer {
  private consumer: Consumer | undefined;
  /** Per "topic:partition": how far it is known to be stored; cleared on every group join. */
  private stored = new Map<string, StoredUpTo | null>();
  storageUp = true;
  running = false;
  private stopping = false;
  /** Last time Kafka answered this consumer (a fetch, a heartbeat, a batch). */
  private lastContact = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly restartBackoff = new Backoff(1_000, 60_000);
  /** The record kind of each topic read. */
  private readonly kinds: Map<string, AnyKind>;
  private readonly ingestContext: IngestContext;

  constructor(
    private readonly kafka: Kafka,
    private readonly store: LogStore,
    private readonly dlq: DeadLetters,
    private readonly cfg: ConsumerConfig,
    private readonly metrics: CollectorMetrics,
    private readonly log: Logger,
    containers?: CadvisorState,
  ) {
    this.kinds = new Map<string, AnyKind>([[cfg.logsTopic, LOGS]]);
    if (cfg.statsTopic) this.kinds.set(cfg.statsTopic, STATS);
    if (cfg.eventsTopic) this.kinds.set(cfg.eventsTopic, EVENTS);
    this.ingestContext = { metrics, log, containers, maxRecordBytes: cfg.maxRecordBytes, validate: true, faultText: cfg.faultUnstorableText };
  }

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
      if (this.cfg.statsTopic) this.ingestContext.containers?.retainPartitions(new Set<number>(e.payload.memberAssignment[this.cfg.statsTopic] ?? []));
      this.metrics.rebalances.inc();
      this.log.info({ assignment: e.payload.memberAssignment }, 'joined consumer group');
    });
    const contact = () => {
      this.lastContact = Date.now();
    };
    for (const ev of [consumer.events.FETCH, consumer.events.HEARTBEAT, consumer.events.GROUP_JOIN]) consumer.on(ev, contact);
    consumer.on(consumer.events.END_BATCH_PROCESS, () => {
      contact();
      this.restartBackoff.reset();
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
    // Jittered: collectors that crashed on the same batch do not restart in step.
    const delay = this.restartBackoff.next();
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
  private async storedUpTo(kind: AnyKind, topic: string, partition: number): Promise<StoredUpTo | null> {
    const key = `${topic}:${partition}`;
    const known = this.stored.get(key);
    if (known !== undefined) return known;
    const table = kind.table;
    const line = kind === LOGS ? 'RecordLine' : '0';
    const rows = await this.store.query<{ o: string; l: string; c: string }>(
      `SELECT toString(max(KafkaOffset)) AS o, toString(argMax(${line}, (KafkaOffset, ${line}))) AS l, toString(count()) AS c FROM ${quoteIdent(this.store.database)}.${quoteIdent(table)} WHERE KafkaTopic = {t:String} AND KafkaPartition = {p:UInt32}`,
      { t: topic, p: partition },
    );
    const v = rows[0] && rows[0].c !== '0' ? { offset: BigInt(rows[0].o), line: kind === LOGS ? Number(rows[0].l) : Infinity } : null;
    this.stored.set(key, v);
    return v;
  }

  private async onBatch(p: EachBatchPayload): Promise<void> {
    if (p.batch.isEmpty()) return;
    const { batch } = p;
    const { topic, partition } = batch;
    const kind = this.kinds.get(topic);
    if (!kind) throw new KafkaJSNonRetriableError(`no record kind for topic ${topic}`);
    if (kind === LOGS) this.cfg.beforeBatch?.();
    const last = batch.lastOffset();
    // Semantic conventions for messaging (a batch: links to the records' send contexts).
    const attributes = {
      'messaging.system': 'kafka',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': topic,
      'messaging.destination.partition.id': String(partition),
      'messaging.consumer.group.name': this.cfg.groupId,
      'messaging.batch.message_count': batch.messages.length,
    };
    const links = linksFromHeaders(batch.messages.map((m) => m.headers));
    await tracer.startActiveSpan(`process ${topic}`, { kind: SpanKind.CONSUMER, attributes, links }, async (span) => {
      try {
        const storedUpTo = await this.retry('read stored offsets', () => this.storedUpTo(kind, topic, partition), p);
        const target: IngestTarget = {
          store: this.store,
          deadLetterPlace: this.dlq.topic,
          run: (what, op) => this.retry(what, op, p),
          reject: (rejected) => this.retry('write to the DLQ', () => this.dlq.send(rejected), p, true),
        };
        const r = await ingest(kind, { topic, partition, records: batch.messages, storedUpTo, tokenBase: `${topic}:${partition}` }, target, this.ingestContext);
        this.metrics.recordsConsumed.inc({ topic }, batch.messages.length);
        if (r.skipped) {
          this.metrics.recordsSkipped.inc({ topic }, r.skipped);
          this.log.info({ topic, partition, skipped: r.skipped, storedUpTo: String(storedUpTo?.offset) }, 'skipped records already in storage');
        }
        if (r.rows > 0) {
          this.stored.set(`${topic}:${partition}`, { offset: BigInt(last), line: Infinity });
          if (kind === LOGS) this.cfg.afterInsert?.();
        }
        if (p.isStale()) return;
        await this.consumer?.commitOffsets([{ topic, partition, offset: (BigInt(last) + 1n).toString() }]);
        p.resolveOffset(last);
        this.metrics.consumerLag.set({ topic, partition: String(partition) }, Number(batch.offsetLag()));
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
   * Retries op with backoff, heartbeating, until it succeeds or the partition is taken away.
   * A store's refusal of the data itself is thrown at once: retrying the same rows cannot help.
   */
  private async retry<T>(what: string, op: () => Promise<T>, p: EachBatchPayload, dlq = false): Promise<T> {
    const backoff = new Backoff(250, 10_000);
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
        const wait = backoff.next();
        this.log.warn({ err: describe(err), retryInMs: wait, topic: p.batch.topic, partition: p.batch.partition }, `${what} failed; retrying (offsets stay where they are)`);
        if (!p.isRunning() || p.isStale()) throw new Stale();
        await sleep(wait);
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
