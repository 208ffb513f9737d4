/**
 * Why a Kafka record holds a batch of lines: the same 200k lines produced with kafkajs
 * (acks=all, idempotent, gzip) as one message per line vs. one message per ~256 KiB of a
 * container's lines. Prints lines/s and bytes on the wire; writes bench/results/record-layout.json.
 * Needs SHIPLOG_KAFKA_BROKERS (or starts a broker with test/env/kafka.sh).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';

const { Kafka, CompressionTypes, logLevel, Partitioners } = kafkajs;
const root = resolve(import.meta.dirname, '../..');
const N = Number(process.env.BENCH_LINES ?? 200_000);

async function main(): Promise<void> {
  let brokers = process.env.SHIPLOG_KAFKA_BROKERS ?? '';
  let stop = () => {};
  if (!brokers) {
    const d = mkdtempSync(join(tmpdir(), 'bench-kafka-'));
    brokers = execFileSync('bash', [`${root}/test/env/kafka.sh`, 'start', d, '29094'], { encoding: 'utf8' }).trim();
    stop = () => execFileSync('bash', [`${root}/test/env/kafka.sh`, 'stop', d]);
  }
  try {
    const kafka = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const key = 'f'.repeat(64);
    const header = `{"v":1,"type":"logs","host":"bench-host","container":{"id":"${key}","name":"web-1","image":"nginx:1.27","labels":{"com.docker.compose.project":"shop","com.docker.compose.service":"web","maintainer":"NGINX Docker Maintainers"},"compose_project":"shop","compose_service":"web"},"lines":[`;
    const line = (i: number) => `{"ts":"2026-11-23T16:00:00.${String(i).padStart(9, '0')}Z","stream":"stdout","msg":${JSON.stringify(`127.0.0.1 - - [23/Nov/2026:16:00:00 +0000] "GET /api/v1/items?page=${i} HTTP/1.1" 200 5123 "-" "Mozilla/5.0"`)}}`;
    const made: string[] = [];
    const results: Record<string, { linesPerSec: number; messages: number; valueBytesPerLine: number }> = {};
    for (const layout of ['message-per-line', 'batched-records'] as const) {
      const topic = `bench-layout-${randomUUID().slice(0, 8)}`;
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
      const values: string[] = [];
      if (layout === 'message-per-line') {
        for (let i = 0; i < N; i++) values.push(`${header}${line(i)}],"cursor":{"stdout":{"ts":"2026-11-23T16:00:00.${String(i).padStart(9, '0')}Z","n":1}}}`);
      } else {
        let cur: string[] = [];
        let size = 0;
        for (let i = 0; i < N; i++) {
          const l = line(i);
          cur.push(l);
          size += l.length;
          if (size > 256 * 1024 || i === N - 1) {
            values.push(`${header}${cur.join(',')}],"cursor":{"stdout":{"ts":"x","n":1}}}`);
            cur = [];
            size = 0;
          }
        }
      }
      const t0 = process.hrtime.bigint();
      // Same batching as the agent: up to ~1 MiB of values per produce request.
      for (let i = 0; i < values.length; ) {
        const batch: { key: string; value: string }[] = [];
        let bytes = 0;
        while (i < values.length && bytes < 1024 * 1024) {
          bytes += (values[i] as string).length;
          batch.push({ key, value: values[i] as string });
          i++;
        }
        await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: batch });
      }
      const sec = Number(process.hrtime.bigint() - t0) / 1e9;
      const total = values.reduce((n, v) => n + v.length, 0);
      results[layout] = { linesPerSec: Math.round(N / sec), messages: values.length, valueBytesPerLine: Math.round(total / N) };
      made.push(topic);
    }
    await producer.disconnect();
    await admin.deleteTopics({ topics: made });
    await admin.disconnect();
    console.table(results);
    mkdirSync(join(root, 'bench/results'), { recursive: true });
    writeFileSync(join(root, 'bench/results/record-layout.json'), `${JSON.stringify({ scenario: 'record-layout', date: new Date().toISOString(), lines: N, results }, null, 2)}\n`);
  } finally {
    stop();
  }
}

await main();
