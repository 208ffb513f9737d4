/**
 * /readyz follows Kafka: a collector whose broker goes away says not ready (it once stayed
 * ready while Kafka was down), and ready again once the broker is back.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, expect, it } from 'vitest';
import { startCollector, tempDir, type AgentProcess } from '../../helpers/agent-process.js';
import { waitFor } from '../../helpers/kafka-read.js';
import { startOwnBroker, type OwnBroker } from '../../helpers/own-broker.js';

let broker: OwnBroker | undefined;
let collector: AgentProcess | undefined;
const data = tempDir('shiplog-ready-');

afterAll(async () => {
  await collector?.stop();
  await broker?.remove();
  data.cleanup();
});

it('is not ready while its broker is down, and ready again when it returns', async () => {
  broker = await startOwnBroker();
  const prefix = `t-${randomUUID()}`;
  // The agent creates <prefix>.logs; here there is none.
  const admin = new Kafka({ brokers: [broker.brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: `${prefix}.logs`, numPartitions: 1 }] });
  await admin.disconnect();
  collector = await startCollector({ SHIPLOG_KAFKA_BROKERS: broker.brokers, SHIPLOG_DATA_DIR: data.dir, SHIPLOG_KAFKA_TOPIC_PREFIX: prefix, SHIPLOG_COLLECTOR_GROUP: `g-${randomUUID()}` });
  const ready = async () => (await fetch(`${(collector as AgentProcess).url}/readyz`)).status;
  await waitFor(async () => (await ready()) === 200, 90_000, 'ready with the broker up');
  await broker.halt();
  await waitFor(async () => (await ready()) === 503, 90_000, 'not ready with the broker down');
  expect((await fetch(`${collector.url}/healthz`)).status).toBe(200);
  await broker.restart();
  await waitFor(async () => (await ready()) === 200, 120_000, 'ready again with the broker back');
});
