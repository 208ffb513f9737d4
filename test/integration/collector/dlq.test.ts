/**
 * Garbage, schema-violating and oversized records go to <prefix>.dlq with the reason in a
 * header, are counted, and the good records around them are stored.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
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

const record = (lines: string[], cid = 'a'.repeat(64)) =>
  JSON.stringify({
    v: 1,
    type: 'logs',
    host: 'h',
    container: { id: cid, name: 'good', image: 'img', labels: {} },
    lines: lines.map((msg, i) => ({ ts: `2026-11-23T16:00:00.00000000${i}Z`, stream: 'stdout', msg })),
    cursor: { stdout: { ts: '2026-11-23T16:00:00.000000001Z', n: 1 } },
  });

it('routes bad records to the DLQ with reasons and keeps consuming', async () => {
  const prefix = `t-${randomUUID()}`;
  const topic = `${prefix}.logs`;
  const kafka = await createTopics(prefix, ['logs']);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    messages: [
      { key: 'k1', value: record(['good-1', 'good-2']) },
      { key: 'k2', value: Buffer.from([0xde, 0xad, 0xbe, 0xef]) },
      { key: 'k3', value: '{"v":1,"type":"logs","host":"h"}' },
      { key: 'k4', value: record(['x'.repeat(4000)]) },
      { key: 'k5', value: null },
      { key: 'k6', value: record(['good-3']) },
    ],
  });
  await producer.disconnect();

  const ep = await startChdbEndpoint(tempDir('shiplog-chdb-http-').dir);
  cleanups.push(() => ep.stop());
  const group = `g-${randomUUID()}`;
  const collector = await startCollector({ SHIPLOG_CLICKHOUSE_URL: ep.url, SHIPLOG_KAFKA_TOPIC_PREFIX: prefix, SHIPLOG_COLLECTOR_GROUP: group, SHIPLOG_COLLECTOR_MAX_RECORD_BYTES: '2KiB' });
  cleanups.push(async () => void (await collector.stop()));
  await waitFor(() => groupCaughtUp(group, topic), 60_000, 'all records consumed and committed');

  const rows = await ep.query<{ b: string }>('SELECT Body AS b FROM shiplog.otel_logs ORDER BY Timestamp');
  expect(rows.map((r) => r.b).sort()).toEqual(['good-1', 'good-2', 'good-3']);
  const { stdout } = await run('kcat', ['-b', inject('kafkaBrokers'), '-t', `${prefix}.dlq`, '-C', '-e', '-q', '-f', '%k|%h\n']);
  const dlq = stdout.trim().split('\n').sort();
  expect(dlq).toHaveLength(4);
  const reasonOf = (key: string) => /shiplog-error=([a-z_]+)/.exec(dlq.find((l) => l.startsWith(`${key}|`)) ?? '')?.[1];
  expect(reasonOf('k2')).toBe('not_json');
  expect(reasonOf('k3')).toBe('schema');
  expect(reasonOf('k4')).toBe('oversized');
  expect(reasonOf('k5')).toBe('empty');
  expect(dlq.find((l) => l.startsWith('k2|'))).toContain('shiplog-source-offset=1');
  expect(await collector.metric('shiplog_collector_records_rejected_total')).toBe(4);
  expect(await collector.metric('shiplog_collector_records_rejected_total', { reason: 'schema' })).toBe(1);
});

it('a record the store refuses (valid JSON, a value it cannot hold) goes to the DLQ as unstorable; the rest of its batch is stored', async () => {
  const prefix = `t-${randomUUID()}`;
  const kafka = await createTopics(prefix);
  const stats = (n: number, totalNs: number) =>
    JSON.stringify({
      v: 1, type: 'stats', host: 'h', ts: `2026-11-23T16:00:0${n}.5Z`, container: { id: 'b'.repeat(64), name: 'svc', image: 'img', labels: {} },
      cpu: { total_ns: totalNs, user_ns: 0, system_ns: 0, periods: 0, throttled_periods: 0, throttled_ns: 0 }, memory: { usage: 1, working_set: 1, rss: 1, cache: 0, limit: 0 },
      networks: {}, blkio: { read_bytes: 0, write_bytes: 0 }, pids: 1,
    });
  const producer = kafka.producer();
  await producer.connect();
  // 1e30 passes the schema (a number) but no UInt64 column holds it.
  await producer.send({ topic: `${prefix}.stats`, messages: [{ key: 's1', value: stats(1, 100) }, { key: 's2', value: stats(2, 1e30) }, { key: 's3', value: stats(3, 300) }] });
  await producer.disconnect();

  const ep = await startChdbEndpoint(tempDir('shiplog-chdb-http-').dir);
  cleanups.push(() => ep.stop());
  const group = `g-${randomUUID()}`;
  const collector = await startCollector({ SHIPLOG_CLICKHOUSE_URL: ep.url, SHIPLOG_KAFKA_TOPIC_PREFIX: prefix, SHIPLOG_COLLECTOR_GROUP: group });
  cleanups.push(async () => void (await collector.stop()));
  await waitFor(() => groupCaughtUp(`${group}-stats`, `${prefix}.stats`), 60_000, 'the stats consumed and committed').catch((err) => {
    console.log('DEBUG', collector.output().split('\n').filter((l) => !l.includes('kafkajs')).slice(-15).join('\n').slice(0, 5000));
    throw err;
  });

  const rows = await ep.query<{ c: string }>('SELECT toString(CpuTotalNs) AS c FROM shiplog.container_stats ORDER BY Timestamp');
  expect(rows.map((r) => r.c)).toEqual(['100', '300']);
  const { stdout } = await run('kcat', ['-b', inject('kafkaBrokers'), '-t', `${prefix}.dlq`, '-C', '-e', '-q', '-f', '%k|%h\n']);
  const dlq = stdout.trim().split('\n');
  expect(dlq).toHaveLength(1);
  expect(dlq[0]).toMatch(/^s2\|.*shiplog-error=unstorable/);
  expect(await collector.metric('shiplog_collector_records_rejected_total', { reason: 'unstorable' })).toBe(1);
});

it('one poison line in a log record: that line alone goes to the DLQ, every other line of the record and the batch is stored', async () => {
  const prefix = `t-${randomUUID()}`;
  const topic = `${prefix}.logs`;
  const kafka = await createTopics(prefix, ['logs']);
  const at = (ts: string, msg: string) => ({ ts, stream: 'stdout', msg });
  const rec = (lines: { ts: string; stream: string; msg: string }[]) =>
    JSON.stringify({ v: 1, type: 'logs', host: 'h', container: { id: 'c'.repeat(64), name: 'app', image: 'img', labels: { owner: "o'brien" } }, lines, cursor: { stdout: { ts: lines[0]?.ts, n: 1 } } });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    messages: [
      { key: 'before', value: rec([at('2026-11-23T16:00:00.1Z', 'before-1'), at('2026-11-23T16:00:00.2Z', '{"level":"info","msg":"can\'t connect"}')]) },
      { key: 'mixed', value: rec(['m-0', 'm-1', 'm-2 POISON', 'm-3', 'm-4'].map((m, i) => at(`2026-11-23T16:00:01.${i + 1}Z`, m))) },
      // Once refused by the store ("0" is no DateTime); now taken (the 30-day retention drops them soon after: not counted below).
      { key: 'epoch', value: rec([at('1970-01-01T00:00:00Z', 'epoch-0'), at('1972-06-01T00:00:00.5Z', 'epoch-1')]) },
      // Valid by the schema, before 1970 once the offset is applied: the encoder refuses the record.
      { key: 'early', value: rec([at('1970-01-01T00:30:00+01:00', 'early')]) },
      { key: 'after', value: rec([at('2026-11-23T16:00:02.1Z', 'after-1')]) },
    ],
  });
  await producer.disconnect();

  const ep = await startChdbEndpoint(tempDir('shiplog-chdb-http-').dir);
  cleanups.push(() => ep.stop());
  const group = `g-${randomUUID()}`;
  const collector = await startCollector({ SHIPLOG_CLICKHOUSE_URL: ep.url, SHIPLOG_KAFKA_TOPIC_PREFIX: prefix, SHIPLOG_COLLECTOR_GROUP: group, SHIPLOG_FAULT_UNSTORABLE_TEXT: 'POISON' });
  cleanups.push(async () => void (await collector.stop()));
  await waitFor(() => groupCaughtUp(group, topic), 60_000, 'all records consumed and committed');

  const rows = await ep.query<{ b: string; t: string; l: number }>(
    // The 1970 lines may or may not be dropped by the retention TTL yet: look at this century.
    "SELECT Body AS b, toString(Timestamp) AS t, RecordLine AS l FROM shiplog.otel_logs WHERE Timestamp >= '2000-01-01' ORDER BY Timestamp, KafkaOffset, RecordLine",
  );
  expect(rows.map((r) => r.b)).toEqual(['before-1', '{"level":"info","msg":"can\'t connect"}', 'm-0', 'm-1', 'm-3', 'm-4', 'after-1']);
  // The lines keep their place in their record.
  expect(rows.filter((r) => r.b.startsWith('m-')).map((r) => r.l)).toEqual([0, 1, 3, 4]);
  const { stdout } = await run('kcat', ['-b', inject('kafkaBrokers'), '-t', `${prefix}.dlq`, '-C', '-e', '-q', '-f', '%k|%h|%s\n']);
  const dlq = stdout.trim().split('\n');
  expect(dlq).toHaveLength(2);
  expect(dlq.some((l) => l.startsWith('epoch|'))).toBe(false);
  const poison = dlq.find((l) => l.startsWith('mixed|')) as string;
  expect(poison).toMatch(/shiplog-error=unstorable/);
  expect(poison).toMatch(/shiplog-source-line=2/);
  // The DLQ record is a valid record of that one line.
  const value = JSON.parse(poison.slice(poison.lastIndexOf('|{') + 1)) as { lines: { msg: string }[] };
  expect(value.lines.map((l) => l.msg)).toEqual(['m-2 POISON']);
  expect(dlq.find((l) => l.startsWith('early|'))).toMatch(/shiplog-error=unencodable/);
  expect(await collector.metric('shiplog_collector_records_rejected_total', { reason: 'unstorable' })).toBe(1);
  expect(await collector.metric('shiplog_collector_records_rejected_total', { reason: 'unencodable' })).toBe(1);
});
