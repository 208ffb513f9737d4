/** `shiplog collector`: Kafka consumer group → storage, with /metrics and health endpoints. */
import kafkajs from 'kafkajs';
import { failFirstCalls, killAtCall } from '../lib/faults.js';
import { Registry } from 'prom-client';
import { registerProcessMetrics } from '../lib/process-metrics.js';
import { ConfigError, describe } from '../lib/errors.js';
import type { Env } from '../lib/env-config.js';
import { createKafka } from '../lib/kafka.js';
import { connectionHint, securityProblem } from '../lib/kafka-security.js';
import { untilSignal } from '../lib/shutdown.js';
import { createLogger } from '../lib/logger.js';
import { startTracing } from '../lib/tracing.js';
import { loadCollectorConfig } from './config.js';
import { LogConsumer } from './consume/consumer.js';
import { DeadLetters } from './consume/dlq.js';
import { build } from './http/app.js';
import { createCollectorMetrics } from './metrics.js';
import { CadvisorState, registerCadvisorMetrics } from './metrics/cadvisor.js';
import { rebuildContainerState } from './metrics/rebuild.js';
import { explainListenError } from '../lib/listen.js';
import { openStore } from './store/open-store.js';
import { clickhouseSettingProblem } from './store/clickhouse-store.js';
import { StorageError, type LogStore } from './store/store.js';
import { Backoff, sleep } from '../lib/retry.js';

export async function runCollector(env: Env): Promise<number> {
  const cfg = loadCollectorConfig(env);
  const log = createLogger('shiplog-collector', cfg.logLevel, cfg.logFormat);
  const tracing = await startTracing('shiplog-collector', env, log);
  const registry = new Registry();
  registerProcessMetrics(registry, 'shiplog_collector_process_');
  let consumer: LogConsumer | undefined;
  let auxConsumer: LogConsumer | undefined;
  let store: LogStore | undefined;
  const metrics = createCollectorMetrics(registry, { storageUp: () => consumer?.storageUp ?? false }, ['logs', 'stats', 'events'].map((t) => `${cfg.kafka.topicPrefix}.${t}`), cfg.containerTtlMs);
  const containers = new CadvisorState(cfg.containerTtlMs, cfg.containerLabels);
  registerCadvisorMetrics(registry, containers);
  // The API is served from the start; it answers from storage once storage is open.
  const notOpen = () => Promise.reject(new StorageError('storage is not open yet'));
  const lazyStore: LogStore = {
    get kind() {
      return store?.kind ?? (cfg.storage.kind === 'chdb' ? 'chdb' : 'clickhouse');
    },
    get database() {
      return store?.database ?? cfg.storage.database;
    },
    exec: (sql) => (store ? store.exec(sql) : notOpen()),
    query: (sql, params) => (store ? store.query(sql, params) : notOpen()),
    queryWithStats: (sql, params) => (store ? store.queryWithStats(sql, params) : notOpen()),
    insertTsv: (...a) => (store ? store.insertTsv(...a) : notOpen()),
    ping: () => (store ? store.ping() : notOpen()),
    close: async () => undefined,
  };
  const app = build({
    registry,
    store: lazyStore,
    apiToken: cfg.api.token || undefined,
    limits: cfg.api,
    log: log.child({ part: 'http' }),
    status: () => ({ consuming: (consumer?.ready() ?? false) && (auxConsumer?.ready() ?? false), storage: consumer?.storageUp === false || !store ? 'down' : 'up', storageKind: cfg.storage.kind }),
  });
  let address: string;
  try {
    address = await app.listen({ host: cfg.http.address, port: cfg.http.port });
  } catch (err) {
    throw explainListenError(err, cfg.http.address, cfg.http.port, 'SHIPLOG_HTTP_PORT', 'SHIPLOG_HTTP_ADDRESS');
  }
  if (env.SHIPLOG_PRINT_ADDRESS === '1') process.stdout.write(`listening ${address}\n`);

  const kafka = createKafka({ brokers: cfg.kafka.brokers, clientId: 'shiplog-collector', log: log.child({ part: 'kafka' }), security: cfg.kafka.security });
  const dlq = new DeadLetters(kafka, `${cfg.kafka.topicPrefix}.dlq`, cfg.dlqMaxMessageBytes);
  // Storage and Kafka may come up after us: wait for them rather than exit.
  const backoff = new Backoff(500, 15_000);
  while (true) {
    try {
      store ??= await openStore(cfg, log.child({ part: 'store' }));
      const topics = { logs: `${cfg.kafka.topicPrefix}.logs`, stats: `${cfg.kafka.topicPrefix}.stats`, events: `${cfg.kafka.topicPrefix}.events` };
      await dlq.start(6, [topics.stats, topics.events]);
      const restored = await rebuildContainerState(store, containers, cfg.containerTtlMs);
      if (restored) log.info({ containers: restored }, 'container metrics restored from storage');
      const common = {
        batchBytes: cfg.batchBytes,
        batchWaitMs: cfg.batchWaitMs,
        maxRecordBytes: cfg.maxRecordBytes,
        partitionsConcurrently: cfg.concurrency,
        sessionTimeoutMs: cfg.sessionTimeoutMs,
      };
      // Logs and the small stats/events records in groups of their own, so that a slow
      // partition of one never holds up the other's rebalances.
      consumer = new LogConsumer(kafka, store, dlq, { ...common, groupId: cfg.kafka.groupId, logsTopic: topics.logs, afterInsert: killAtCall(cfg.faultKillAfterInserts), faultUnstorableText: cfg.faultUnstorableText || undefined, beforeBatch: failFirstCalls(cfg.faultCrashBatches, () => new kafkajs.KafkaJSNonRetriableError('fault injection: SHIPLOG_FAULT_CRASH_BATCHES')) }, metrics, log.child({ part: 'consumer' }), containers);
      auxConsumer = new LogConsumer(kafka, store, dlq, { ...common, groupId: `${cfg.kafka.groupId}-stats`, logsTopic: '', statsTopic: topics.stats, eventsTopic: topics.events }, metrics, log.child({ part: 'stats-consumer' }), containers);
      await consumer.start();
      await auxConsumer.start();
      break;
    } catch (err) {
      // A setting that cannot work stops start-up; waiting would not mend it.
      await consumer?.stop();
      await auxConsumer?.stop();
      await dlq.stop();
      const problem = err instanceof ConfigError ? err : (securityProblem(err) ?? clickhouseSettingProblem(err));
      if (problem) {
        await app.close();
        throw problem;
      }
      const noTopic = /does not host this topic-partition|UNKNOWN_TOPIC_OR_PARTITION/.test(describe(err));
      const wait = backoff.next();
      const hint = connectionHint(err, cfg.kafka.security);
      log.warn(
        { err: describe(err), retryInMs: wait, ...(hint ? { hint } : {}) },
        noTopic ? `cannot start consuming yet: ${cfg.kafka.topicPrefix}.logs does not exist until an agent creates it (or create it yourself); retrying` : 'cannot start consuming yet; retrying',
      );
      await sleep(wait);
    }
  }
  log.info({ storage: cfg.storage.kind === 'chdb' ? `embedded chDB at ${cfg.storage.path}` : new URL(cfg.storage.url).host, topic: `${cfg.kafka.topicPrefix}.logs`, group: cfg.kafka.groupId, metrics: `${address}/metrics` }, 'collector running');

  return untilSignal(log, 'finishing the batch in hand', async () => {
    await consumer?.stop();
    await auxConsumer?.stop();
    await dlq.stop();
    await app.close();
    await store?.close();
    await tracing.shutdown();
  }, cfg.stopTimeoutMs);
}
