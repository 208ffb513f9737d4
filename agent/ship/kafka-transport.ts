/**
 * Ships log records to `<prefix>.logs` with kafkajs: idempotent producer, acks=all, one
 * request in flight, partition chosen by the container id (Java-compatible murmur2), gzip.
 */
import { randomUUID } from 'node:crypto';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import kafkajs, { type Admin, type Kafka, type PartitionMetadata, type Producer } from 'kafkajs';
import { describe, KafkaError } from '../../lib/errors.js';
import { createIdempotentProducer, createKafka, ensureTopics } from '../../lib/kafka.js';
import { securityProblem, type KafkaSecurity } from '../../lib/kafka-security.js';
import type { Logger } from '../../lib/logger.js';
import { traceHeaders } from '../../lib/tracing.js';
import type { LogRecord, RecordCursor } from './record.js';
import { TooLargeError, type OutRecord, type SendResult, type Transport } from './transport.js';
import { after } from './checkpoint-store.js';

const tracer = trace.getTracer('shiplog-agent');

// kafkajs is CommonJS: take the values from its default export.
const { CompressionTypes, ConfigResourceTypes, Partitioners } = kafkajs;

export interface KafkaTransportConfig {
  brokers: string[];
  topic: string;
  /** Topics for stats samples and lifecycle events (created like the logs topic). */
  statsTopic?: string;
  eventsTopic?: string;
  compression: 'gzip' | 'zstd' | 'none';
  gzipLevel?: number;
  /** Partitions for the topic if the agent has to create it. */
  partitions: number;
  replicationFactor: number;
  /** min.insync.replicas of topics created here (0: the broker's default). */
  minInsyncReplicas?: number;
  /** Topic max.message.bytes if the agent creates it (lines up to this size fit in a record). */
  maxMessageBytes: number;
  /** TLS and SASL for the brokers. */
  security?: KafkaSecurity;
}

export class KafkaTransport implements Transport {
  readonly target: string;
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  private admin: Admin | undefined;
  private partitionMeta: PartitionMetadata[] = [];
  /** Partitions of the stats and events topics, so their sends are checked as the logs' are. */
  private readonly auxPartitions = new Map<string, PartitionMetadata[]>();
  private readonly partitioner = Partitioners.DefaultPartitioner();
  maxRecordBytes: number;

  /** Sends whose answer lacked some partitions, which were sent again (see sendTraced). */
  unansweredResends = 0;

  constructor(private readonly cfg: KafkaTransportConfig, private readonly log: Logger) {
    this.target = `kafka:${cfg.topic}`;
    this.maxRecordBytes = cfg.maxMessageBytes;
    this.kafka = createKafka({ brokers: cfg.brokers, clientId: 'shiplog-agent', log, gzipLevel: cfg.gzipLevel, security: cfg.security });
  }

  async start(): Promise<void> {
    try {
      this.admin = this.kafka.admin();
      await this.admin.connect();
      await this.ensureTopic();
      this.producer = createIdempotentProducer(this.kafka);
      await this.producer.connect();
    } catch (err) {
      // Refused credentials or a certificate that does not verify: a setting to change, not a wait.
      throw securityProblem(err) ?? new KafkaError(`cannot start the Kafka producer (brokers ${this.cfg.brokers.join(',')})`, err);
    }
  }

  private async ensureTopic(): Promise<void> {
    const admin = this.admin as Admin;
    const wanted = [this.cfg.topic, this.cfg.statsTopic, this.cfg.eventsTopic].filter((t): t is string => !!t);
    const created = await ensureTopics(admin, wanted, this.cfg);
    if (created.length) this.log.info({ topics: created, partitions: this.cfg.partitions }, 'created topics');
    await this.refreshPartitions();
    // A topic someone else created may take smaller messages than ours would be.
    try {
      const desc = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: this.cfg.topic, configNames: ['max.message.bytes'] }],
      });
      const v = desc.resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue;
      if (v && Number(v) > 0) this.maxRecordBytes = Number(v);
    } catch (err) {
      this.log.warn({ err: String(err) }, 'cannot read the topic max.message.bytes; assuming the configured one');
    }
  }

  private async refreshPartitions(): Promise<void> {
    const aux = [this.cfg.statsTopic, this.cfg.eventsTopic].filter((t): t is string => !!t);
    const md = await (this.admin as Admin).fetchTopicMetadata({ topics: [this.cfg.topic, ...aux] });
    this.partitionMeta = md.topics.find((t) => t.name === this.cfg.topic)?.partitions ?? [];
    if (this.partitionMeta.length === 0) throw new KafkaError(`topic ${this.cfg.topic} has no partitions`);
    for (const t of md.topics) if (aux.includes(t.name)) this.auxPartitions.set(t.name, t.partitions);
  }

  partitionOf(key: string): number {
    return this.partitioner({ topic: this.cfg.topic, partitionMetadata: this.partitionMeta, message: { key, value: null } });
  }

  async send(records: OutRecord[]): Promise<SendResult> {
    const attributes = {
      'messaging.system': 'kafka',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.destination.name': this.cfg.topic,
      'messaging.batch.message_count': records.length,
    };
    return tracer.startActiveSpan(`send ${this.cfg.topic}`, { kind: SpanKind.PRODUCER, attributes }, async (span) => {
      try {
        return await this.sendTraced(records);
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: describe(err) });
        throw err;
      } finally {
        span.end();
      }
    });
  }

  private async sendTraced(records: OutRecord[]): Promise<SendResult> {
    const counts = new Map<number, number>();
    // The send's trace context rides on every record (none without a tracer: no header bytes).
    const carrier = traceHeaders();
    const headers = Object.keys(carrier).length ? carrier : undefined;
    const messages = records.map((r) => {
      const partition = this.partitionOf(r.key);
      counts.set(partition, (counts.get(partition) ?? 0) + 1);
      return { key: r.key, value: r.value, partition, headers };
    });
    const nextOffsets = new Map<number, string>();
    for (const [partition, base] of await this.sendChecked(this.cfg.topic, messages)) {
      const n = counts.get(partition) ?? 0;
      if (n > 0) nextOffsets.set(partition, (BigInt(base) + BigInt(n)).toString());
    }
    return { nextOffsets };
  }

  /**
   * Sends messages with their partitions and returns each partition's base offset. kafkajs 2.2.4
   * can answer a batch without some of its partitions: a retry after a leader moved skips a
   * broker that answered the first attempt, even when that broker now leads a partition whose
   * request failed (sendMessages.js, brokersWithoutResponse), and reports success. A three-broker
   * test lost acknowledged lines that way. So every partition sent must be in the answer; the
   * missing ones are sent again (kafkajs rolled their sequence numbers back: no duplicate).
   */
  private async sendChecked(topic: string, messages: { key: string; value: Buffer | string; partition: number; headers?: Record<string, string> }[]): Promise<Map<number, string>> {
    const producer = this.producer;
    if (!producer) throw new KafkaError('producer not started');
    const bases = new Map<number, string>();
    let todo = messages;
    for (let attempt = 0; todo.length > 0; attempt++) {
      if (attempt === 10) throw new KafkaError(`produce to ${topic}: partitions ${[...new Set(todo.map((m) => m.partition))].join(',')} still unanswered after ${attempt} sends`);
      let meta;
      try {
        meta = await producer.sendBatch({ acks: -1, compression: this.compression(), topicMessages: [{ topic, messages: todo }] });
      } catch (err) {
        const type = (err as { type?: string; cause?: { type?: string } }).type ?? (err as { cause?: { type?: string } }).cause?.type;
        if (type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') {
          throw new TooLargeError(`${topic} refused a batch as too large (topic max.message.bytes ${this.maxRecordBytes})`, { cause: err });
        }
        throw new KafkaError(`produce to ${topic} failed`, err);
      }
      const answered = new Set<number>();
      for (const m of meta) {
        if (m.topicName !== topic || m.errorCode !== 0) continue;
        answered.add(m.partition);
        if (m.baseOffset !== undefined) bases.set(m.partition, m.baseOffset);
      }
      const unanswered = todo.filter((m) => !answered.has(m.partition));
      if (unanswered.length) {
        this.unansweredResends++;
        this.log.warn({ topic, partitions: [...new Set(unanswered.map((m) => m.partition))], records: unanswered.length }, 'Kafka client reported a send done without an answer for some partitions; sending those records again');
      }
      todo = unanswered;
    }
    return bases;
  }

  async sendAux(kind: 'stats' | 'events', records: { key: string; value: string }[]): Promise<void> {
    const topic = kind === 'stats' ? this.cfg.statsTopic : this.cfg.eventsTopic;
    if (!topic || records.length === 0) return;
    // start() reads them with the logs topic's: unknown only before it.
    const partitionMetadata = this.auxPartitions.get(topic);
    if (!partitionMetadata?.length) throw new KafkaError(`producer not started (partitions of ${topic} unknown)`);
    await this.sendChecked(topic, records.map((r) => ({ ...r, partition: this.partitioner({ topic, partitionMetadata, message: { key: r.key, value: null } }) })));
  }

  private compression() {
    return this.cfg.compression === 'gzip' ? CompressionTypes.GZIP : this.cfg.compression === 'zstd' ? CompressionTypes.ZSTD : CompressionTypes.None;
  }

  async recover(fromOffsets: Record<string, string>, host: string): Promise<{ cursors: Map<string, RecordCursor>; endOffsets: Map<number, string>; scanned: number }> {
    const admin = this.admin as Admin;
    const ends = await admin.fetchTopicOffsets(this.cfg.topic);
    const endOffsets = new Map<number, string>();
    const todo = new Map<number, { from: bigint; end: bigint }>();
    for (const p of ends) {
      endOffsets.set(p.partition, p.high);
      const from = fromOffsets[String(p.partition)];
      if (from !== undefined && BigInt(from) < BigInt(p.high)) todo.set(p.partition, { from: BigInt(from), end: BigInt(p.high) });
    }
    const cursors = new Map<string, RecordCursor>();
    if (todo.size === 0) return { cursors, endOffsets, scanned: 0 };
    let scanned = 0;
    const groupId = `shiplog-agent-recover-${randomUUID()}`;
    const consumer = this.kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 500 });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: this.cfg.topic, fromBeginning: false });
      const remaining = new Set(todo.keys());
      const seekAll = () => {
        for (const p of endOffsets.keys()) {
          const r = todo.get(p);
          consumer.seek({ topic: this.cfg.topic, partition: p, offset: (r ? r.from : BigInt(endOffsets.get(p) ?? '0')).toString() });
        }
      };
      // Seeks are forgotten when kafkajs restarts a consumer that failed to join (a broker just
      // started answers "coordinator is loading"): it then began at the end of the topic and
      // waited for ever for the records to read back. So they are made again at every join.
      consumer.on(consumer.events.GROUP_JOIN, seekAll);
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              const range = todo.get(batch.partition);
              if (!range) return;
              for (const m of batch.messages) {
                const off = BigInt(m.offset);
                if (off < range.from || off >= range.end) continue;
                scanned++;
                if (!m.value) continue;
                try {
                  const rec = JSON.parse(m.value.toString('utf8')) as LogRecord;
                  if (rec.host !== host || !rec.container?.id) continue;
                  const cur = cursors.get(rec.container.id) ?? {};
                  if (rec.cursor.stdout && after(rec.cursor.stdout, cur.stdout)) cur.stdout = rec.cursor.stdout;
                  if (rec.cursor.stderr && after(rec.cursor.stderr, cur.stderr)) cur.stderr = rec.cursor.stderr;
                  cursors.set(rec.container.id, cur);
                } catch {
                  // Not one of ours.
                }
              }
              const last = batch.messages[batch.messages.length - 1];
              if (last && BigInt(last.offset) >= range.end - 1n) {
                remaining.delete(batch.partition);
                if (remaining.size === 0) resolve();
              }
            },
          })
          .catch(reject);
        seekAll();
      });
    } catch (err) {
      throw new KafkaError(`cannot read back ${this.cfg.topic} to finish checkpoints`, err);
    } finally {
      await consumer.disconnect().catch(() => undefined);
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
    return { cursors, endOffsets, scanned };
  }

  async stop(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }
}
