/** kafkajs client set-up shared by the agent and the collector: logs routed to pino. */
import kafkajs, { Kafka, logLevel, type Admin, type KafkaConfig, type Producer } from 'kafkajs';
import type { Logger } from './logger.js';
import type { KafkaSecurity } from './kafka-security.js';
import { registerCodecs } from './kafka-codecs.js';
import { fixKafkajsIdlePolling } from './kafkajs-idle-fix.js';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  log: Logger;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  gzipLevel?: number;
  /** TLS and SASL (SHIPLOG_KAFKA_TLS*, SHIPLOG_KAFKA_SASL_*); plaintext when absent. */
  security?: KafkaSecurity;
}

export function createKafka(o: KafkaClientOptions): Kafka {
  registerCodecs(o.gzipLevel ?? 1);
  fixKafkajsIdlePolling();
  const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
    [logLevel.ERROR]: 'error',
    [logLevel.WARN]: 'warn',
    [logLevel.INFO]: 'info',
    [logLevel.DEBUG]: 'debug',
  };
  const cfg: KafkaConfig = {
    clientId: o.clientId,
    brokers: o.brokers,
    ...(o.security?.tls ? { ssl: o.security.tls } : {}),
    ...(o.security?.sasl ? { sasl: o.security.sasl } : {}),
    connectionTimeout: o.connectionTimeoutMs ?? 3000,
    requestTimeout: o.requestTimeoutMs ?? 30000,
    // Our own loops retry without limit; kafkajs' retries cover short blips only.
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => {
      const lvl = levels[entry.level] ?? 'info';
      const { message, ...extra } = entry.log;
      // kafkajs logs every failed connection attempt at ERROR; our loops report the outcome.
      o.log[lvl === 'error' ? 'warn' : lvl]({ kafkajs: entry.namespace, ...extra }, message);
    },
  };
  return new Kafka(cfg);
}

/**
 * An idempotent producer, acks=all by its callers. Retriable failures (broker down, leader
 * moving) are retried inside kafkajs with the same producer id and sequence numbers, so the
 * broker drops a batch it already has; only non-retriable errors reach the caller.
 */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 5000 },
  });
}

/**
 * Creates the topics of `wanted` that do not exist yet; returns the ones it created. Another
 * agent or collector creating them at the same moment is not an error.
 */
export async function ensureTopics(
  admin: Admin,
  wanted: string[],
  o: { partitions: number; replicationFactor?: number; minInsyncReplicas?: number; maxMessageBytes: number },
): Promise<string[]> {
  const existing = await admin.listTopics();
  const missing = wanted.filter((t) => !existing.includes(t));
  if (!missing.length) return [];
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: o.partitions,
        replicationFactor: o.replicationFactor ?? -1,
        configEntries: [{ name: 'max.message.bytes', value: String(o.maxMessageBytes) }, ...(o.minInsyncReplicas ? [{ name: 'min.insync.replicas', value: String(o.minInsyncReplicas) }] : [])],
      })),
    });
  } catch (err) {
    const now = await admin.listTopics();
    if (missing.some((t) => !now.includes(t))) throw err;
  }
  return missing;
}
