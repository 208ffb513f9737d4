/**
 * The dead-letter topic `<prefix>.dlq`: a rejected record goes there unchanged (same key and
 * value) with the reason and its origin in headers, before its offset is committed.
 */
import kafkajs, { type Kafka, type Producer } from 'kafkajs';
import { createIdempotentProducer, ensureTopics } from '../../lib/kafka.js';
import type { Rejected } from '../ingest/ingest.js';

const { CompressionTypes } = kafkajs;

export class DeadLetters {
  private producer: Producer | undefined;

  constructor(
    private readonly kafka: Kafka,
    readonly topic: string,
    private readonly maxMessageBytes: number,
  ) {}

  /** Creates the DLQ and any of `alsoEnsure` (the topics the collector reads) that is missing. */
  async start(partitions: number, alsoEnsure: string[] = []): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [this.topic, ...alsoEnsure], { partitions, maxMessageBytes: this.maxMessageBytes });
    } finally {
      await admin.disconnect();
    }
    this.producer = createIdempotentProducer(this.kafka);
    await this.producer.connect();
  }

  /** Writes the rejected records; throws if Kafka does not take them (the caller retries; ingest.ts counts and logs them). */
  async send(rejected: Rejected[]): Promise<void> {
    if (rejected.length === 0) return;
    const producer = this.producer;
    if (!producer) throw new Error('DLQ producer not started');
    const messages = rejected.map((r) => {
      const value = r.value && r.value.length > this.maxMessageBytes - 64 * 1024 ? r.value.subarray(0, this.maxMessageBytes - 64 * 1024) : r.value;
      return {
        key: r.key,
        value,
        headers: {
          'shiplog-error': r.reason,
          'shiplog-error-detail': r.detail,
          'shiplog-source-topic': r.topic,
          'shiplog-source-partition': String(r.partition),
          'shiplog-source-offset': r.offset,
          ...(r.line !== undefined ? { 'shiplog-source-line': String(r.line) } : {}),
          ...(value !== r.value ? { 'shiplog-truncated-from': String(r.value?.length ?? 0) } : {}),
        },
      };
    });
    await producer.send({ topic: this.topic, acks: -1, compression: CompressionTypes.GZIP, messages });
  }

  async stop(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
  }
}
