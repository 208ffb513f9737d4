/** kafkajs client set-up shared by the agent and the collector: logs routed to pino. */
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import type { Logger } from './logger.js';
import { registerCodecs } from './kafka-codecs.js';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  log: Logger;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  gzipLevel?: number;
}

export function createKafka(o: KafkaClientOptions): Kafka {
  registerCodecs(o.gzipLevel ?? 1);
  const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
    [logLevel.ERROR]: 'error',
    [logLevel.WARN]: 'warn',
    [logLevel.INFO]: 'info',
    [logLevel.DEBUG]: 'debug',
  };
  const cfg: KafkaConfig = {
    clientId: o.clientId,
    brokers: o.brokers,
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
