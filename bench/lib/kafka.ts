/** Kafka helpers the benchmarks share: topics, and Kafka's own producer as a ceiling. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { sh } from './env.js';

const { Kafka, logLevel } = kafkajs;

export async function createTopic(brokers: string, topic: string, partitions: number): Promise<void> {
  const admin = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, configEntries: [{ name: 'max.message.bytes', value: String(16 << 20) }] }] });
  await admin.disconnect();
}

/**
 * Kafka's own ProducerPerformance sending `values` (texts without a newline) to a new topic with
 * the agent's producer settings (acks=all, idempotent, gzip level 1, 1 MiB batches): records/s.
 * With `records`, it sends that many, each picked at random from `values`.
 */
export async function kafkaProducerRecordsPerSec(brokers: string, jars: string, dir: string, topic: string, values: readonly string[], records = values.length): Promise<number> {
  writeFileSync(join(dir, 'payloads.txt'), values.join('\n'));
  await createTopic(brokers, topic, 1);
  const out = sh(
    `java -Xmx512m -cp '${jars}/*' org.apache.kafka.tools.ProducerPerformance --topic ${topic} --num-records ${records} --payload-file ${join(dir, 'payloads.txt')} --throughput -1 --producer-props bootstrap.servers=${brokers} acks=all enable.idempotence=true compression.type=gzip compression.gzip.level=1 linger.ms=5 batch.size=1048576 max.request.size=16777216 2>/dev/null | tail -1`,
  );
  const perf = /([\d.]+) records\/sec/.exec(out);
  if (!perf) throw new Error(`ProducerPerformance said: ${out}`);
  return Number(perf[1]);
}
