/** Topics of a test's own prefix on the test broker. */
import { Kafka, logLevel } from 'kafkajs';
import { inject } from 'vitest';

/** A client for the test broker. */
export function testKafka(): Kafka {
  return new Kafka({ brokers: inject('kafkaBrokers').split(','), logLevel: logLevel.NOTHING });
}

/** Creates `<prefix>.<kind>` for each kind, one partition each; returns the client. */
export async function createTopics(prefix: string, kinds: string[] = ['logs', 'stats', 'events']): Promise<Kafka> {
  const kafka = testKafka();
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: kinds.map((k) => ({ topic: `${prefix}.${k}`, numPartitions: 1 })) });
  } finally {
    await admin.disconnect();
  }
  return kafka;
}
