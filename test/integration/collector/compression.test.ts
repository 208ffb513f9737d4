/**
 * Records in every codec Kafka defines, written by an independent producer (kcat, i.e.
 * librdkafka), are read and stored exactly. Once one snappy or lz4 batch (zstd on Node 20)
 * crashed the log consumer for all partitions for good. A batch no codec can read makes the
 * consumer crash; it restarts with backoff, /readyz says not ready, and the crashes are counted.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it, inject } from 'vitest';
import { startCollector, tempDir } from '../../helpers/agent-process.js';
import { runCleanups } from '../../helpers/cleanup.js';
import { groupCaughtUp, waitFor } from '../../helpers/kafka-read.js';
import { startChdbEndpoint } from '../../helpers/store.js';
import { createTopics } from '../../helpers/topics.js';

const run = promisify(execFile);
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  await runCleanups(cleanups);
});

const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const;

const record = (codec: string, i: number) =>
  JSON.stringify({
    v: 1,
    type: 'logs',
    host: 'h',
    container: { id: 'e'.repeat(64), name: `c-${codec}`, image: 'img', labels: {} },
    // Repetitive text, so that each codec really compresses.
    lines: Array.from({ length: 20 }, (_, j) => ({ ts: `2026-11-23T16:00:0${i}.${String(j + 1).padStart(9, '0')}Z`, stream: 'stdout', msg: `${codec} record ${i} line ${j} ${'payload '.repeat(20)}` })),
    cursor: { stdout: { ts: `2026-11-23T16:00:0${i}.000000020Z`, n: 1 } },
  });

it('reads gzip, snappy, lz4 and zstd batches from an independent producer, every line exactly once', async () => {
  const prefix = `t-${randomUUID()}`;
  const topic = `${prefix}.logs`;
  const brokers = inject('kafkaBrokers');
  await createTopics(prefix);
  const dir = tempDir('shiplog-codecs-');
  cleanups.push(dir.cleanup);
  for (const codec of CODECS) {
    const file = join(dir.dir, `${codec}.jsonl`);
    writeFileSync(file, `${Array.from({ length: 5 }, (_, i) => record(codec, i)).join('\n')}\n`);
    // One kcat call per codec: its five records travel as one compressed batch.
    await run('kcat', ['-P', '-b', brokers, '-t', topic, '-p', '0', '-z', codec, '-X', 'linger.ms=200', '-l', file]);
  }
  const ep = await startChdbEndpoint(tempDir('shiplog-chdb-http-').dir);
  cleanups.push(() => ep.stop());
  const group = `g-${randomUUID()}`;
  const collector = await startCollector({ SHIPLOG_CLICKHOUSE_URL: ep.url, SHIPLOG_KAFKA_TOPIC_PREFIX: prefix, SHIPLOG_COLLECTOR_GROUP: group });
  cleanups.push(async () => void (await collector.stop()));
  await waitFor(() => groupCaughtUp(group, topic), 60_000, 'all records consumed and committed');
  const rows = await ep.query<{ n: string; c: string; u: string }>('SELECT ContainerName AS n, toString(count()) AS c, toString(uniqExact(Body)) AS u FROM shiplog.otel_logs GROUP BY n ORDER BY n');
  expect(rows).toEqual(CODECS.map((codec) => ({ n: `c-${codec}`, c: '100', u: '100' })).sort((a, b) => a.n.localeCompare(b.n)));
  expect(await collector.metric('shiplog_collector_consumer_crashes_total')).toBe(0);
  const { stdout } = await run('kcat', ['-b', brokers, '-t', `${prefix}.dlq`, '-C', '-e', '-q', '-f', '%k\n']).catch(() => ({ stdout: '' }));
  expect(stdout.trim()).toBe('');
});

it('a consumer that crashes (an error kafkajs does not retry) restarts with backoff, is counted, and then stores everything', async () => {
  const prefix = `t-${randomUUID()}`;
  const topic = `${prefix}.logs`;
  const kafka = await createTopics(prefix);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [1, 2, 3].map((i) => ({ key: 'k', value: record('crash', i) })) });
  await producer.disconnect();
  const ep = await startChdbEndpoint(tempDir('shiplog-chdb-http-').dir);
  cleanups.push(() => ep.stop());
  const group = `g-${randomUUID()}`;
  const collector = await startCollector({ SHIPLOG_CLICKHOUSE_URL: ep.url, SHIPLOG_KAFKA_TOPIC_PREFIX: prefix, SHIPLOG_COLLECTOR_GROUP: group, SHIPLOG_FAULT_CRASH_BATCHES: '2' });
  cleanups.push(async () => void (await collector.stop()));
  await waitFor(() => groupCaughtUp(group, topic), 60_000, 'consumed after two crashes');
  expect(await collector.metric('shiplog_collector_consumer_crashes_total')).toBe(2);
  expect(collector.output().match(/restarting the consumer/g)).toHaveLength(2);
  const [row] = await ep.query<{ c: string }>('SELECT toString(count()) AS c FROM shiplog.otel_logs');
  expect(row?.c).toBe('60');
  await waitFor(async () => (await fetch(`${collector.url}/readyz`)).status === 200, 30_000, 'ready again');
});
