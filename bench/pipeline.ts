/**
 * Pipeline benchmarks, each against the real components and a baseline from the same run:
 *   kafka-limit        Kafka's own ProducerPerformance vs the agent's produce path, same records
 *   collector-kafka    collector rows/s from Kafka into chDB vs a raw chDB insert of the same rows
 *   end-to-end         container → agent → Kafka → collector → chDB: sustained lines/s, and
 *                      p50/p99 line-to-stored latency at a fixed 1k and 10k lines/s
 *   many-containers    100 containers at 100 lines/s each: agent CPU and RSS
 * Usage: node dist/bench/pipeline.js [scenario ...]   (all by default)
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { KafkaTransport } from '../agent/ship/kafka-transport.js';
import { RowEncoder } from '../collector/ingest/encode-rows.js';
import { ChdbStore } from '../collector/store/chdb-store.js';
import { migrate } from '../collector/store/migrate.js';
import { LOG_INSERT_COLUMNS } from '../collector/store/schema.js';
import { createLogger } from '../lib/logger.js';
import { RealisticLogs } from './gen/realistic-logs.js';
import { createTopic, kafkaProducerRecordsPerSec } from './lib/kafka.js';
import { IMAGE, runScenarios, histogramQuantile, procStat, saveResult, sh, sleep, startShiplog, type BenchEnv } from './lib/env.js';

const { Kafka, logLevel, Partitioners } = kafkajs;
const quiet = createLogger('bench', 'silent');

/** Agent-shaped records of realistic lines (JSON text). */
function makeRecords(lines: number, perRecord = 250): { values: string[]; lines: number } {
  const gen = new RealisticLogs({ containers: 20, spanMs: 3_600_000 });
  const values: string[] = [];
  let n = 0;
  while (n < lines) {
    for (const r of gen.batch(perRecord, Date.now(), lines)) values.push(JSON.stringify(r));
    n += perRecord * 20;
  }
  return { values, lines: n };
}

async function groupDone(brokers: string, group: string, topic: string): Promise<boolean> {
  const admin = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [c] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return ends.every((e) => (c?.partitions.find((p) => p.partition === e.partition)?.offset ?? '-1') === e.high);
  } finally {
    await admin.disconnect();
  }
}

async function kafkaLimit(env: BenchEnv): Promise<void> {
  const { values, lines } = makeRecords(500_000);
  const bytes = values.reduce((n, v) => n + v.length, 0);
  const avg = Math.round(bytes / values.length);
  // 1. Kafka's own producer with the same payloads (acks=all, idempotent, gzip level 1 as ours).
  const kafkaRecPerSec = await kafkaProducerRecordsPerSec(env.brokers, env.kafkaJars, env.tmp('bench-payload-'), `bench-kafka-${randomUUID().slice(0, 8)}`, values);
  // 2. The agent's produce path (KafkaTransport: idempotent, acks=all, gzip, 1 MiB batches, one in flight).
  const t2 = `bench-agent-${randomUUID().slice(0, 8)}`;
  await createTopic(env.brokers, t2, 1);
  const tr = new KafkaTransport({ brokers: env.brokers.split(','), topic: t2, compression: 'gzip', partitions: 1, replicationFactor: -1, maxMessageBytes: 16 << 20 }, quiet);
  await tr.start();
  // Records are bytes by the time the shipper hands them on (record.ts).
  const valueBytes = values.map((v) => Buffer.from(v));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < valueBytes.length; ) {
    const batch = [];
    let b = 0;
    while (i < valueBytes.length && b < 1 << 20) {
      b += (valueBytes[i] as Buffer).length;
      batch.push({ key: 'f'.repeat(64), value: valueBytes[i] as Buffer, lines: 250 });
      i++;
    }
    await tr.send(batch);
  }
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  await tr.stop();
  const agentRecPerSec = values.length / sec;
  const linesPerRecord = lines / values.length;
  const r = {
    records: values.length,
    avgRecordBytes: avg,
    kafkaProducerPerfRecordsPerSec: Math.round(kafkaRecPerSec),
    kafkaProducerPerfLinesPerSec: Math.round(kafkaRecPerSec * linesPerRecord),
    agentProducePathRecordsPerSec: Math.round(agentRecPerSec),
    agentProducePathLinesPerSec: Math.round(agentRecPerSec * linesPerRecord),
    agentVsKafka: Number((agentRecPerSec / kafkaRecPerSec).toFixed(3)),
  };
  saveResult('kafka-limit', r);
  console.table({ 'kafka ProducerPerformance': { 'records/s': r.kafkaProducerPerfRecordsPerSec, 'lines/s': r.kafkaProducerPerfLinesPerSec }, 'agent produce path': { 'records/s': r.agentProducePathRecordsPerSec, 'lines/s': r.agentProducePathLinesPerSec, 'x kafka': r.agentVsKafka } });
}

async function collectorKafka(env: BenchEnv): Promise<void> {
  const { values, lines } = makeRecords(2_000_000);
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const topic = `${prefix}.logs`;
  await createTopic(env.brokers, topic, 6);
  const kafka = new Kafka({ brokers: env.brokers.split(','), logLevel: logLevel.NOTHING });
  const p = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await p.connect();
  for (let i = 0; i < values.length; i += 200) {
    await p.send({ topic, compression: kafkajs.CompressionTypes.GZIP, messages: values.slice(i, i + 200).map((v, k) => ({ key: String((i + k) % 20), value: v })) });
  }
  await p.disconnect();
  // Raw ceiling: the same rows, encoded, inserted in this process into chDB.
  const store = new ChdbStore(join(env.tmp('bench-raw-'), 'chdb'));
  await migrate(store, { database: 'shiplog', retentionDays: 30 }, quiet);
  const payloads: Buffer[] = [];
  let enc = new RowEncoder();
  values.forEach((v, i) => {
    enc.add(JSON.parse(v), { topic, partition: 0, offset: String(i) });
    if (enc.rows >= 100_000 || i === values.length - 1) {
      payloads.push(enc.take());
      enc = new RowEncoder();
    }
  });
  const r0 = process.hrtime.bigint();
  for (let i = 0; i < payloads.length; i++) await store.insertTsv('otel_logs', LOG_INSERT_COLUMNS, payloads[i] as Buffer, `r${i}`);
  const rawSec = Number(process.hrtime.bigint() - r0) / 1e9;
  await store.close();
  // The collector process, embedded store, from Kafka.
  const group = `g-${prefix}`;
  const t0 = process.hrtime.bigint();
  const col = await startShiplog('collector', { SHIPLOG_KAFKA_BROKERS: env.brokers, SHIPLOG_DATA_DIR: env.tmp('bench-col-'), SHIPLOG_KAFKA_TOPIC_PREFIX: prefix, SHIPLOG_COLLECTOR_GROUP: group });
  // Steady state: from the first insert to the last commit (start-up and group join excluded).
  while ((await col.metric('shiplog_collector_rows_inserted_total')) === 0) await sleep(50);
  const startupSec = Number(process.hrtime.bigint() - t0) / 1e9;
  const c0 = procStat(col.proc.pid as number).cpuSec;
  const r0rows = await col.metric('shiplog_collector_rows_inserted_total');
  const s0 = process.hrtime.bigint();
  while (!(await groupDone(env.brokers, group, topic))) await sleep(200);
  const sec = Number(process.hrtime.bigint() - s0) / 1e9;
  const st = procStat(col.proc.pid as number);
  const heap = await col.metric('shiplog_collector_process_nodejs_heap_size_total_bytes');
  const rows = (await col.metric('shiplog_collector_rows_inserted_total')) - r0rows;
  await col.stop();
  const r = {
    rows,
    lines,
    rawChdbInsertRowsPerSec: Math.round(lines / rawSec),
    collectorFromKafkaRowsPerSec: Math.round(rows / sec),
    collectorVsRaw: Number((rows / sec / (lines / rawSec)).toFixed(3)),
    collectorCpuSecPerMillionRows: Number((((st.cpuSec - c0) * 1e6) / rows).toFixed(2)),
    collectorPeakRssMiB: Math.round(st.hwmMiB),
    collectorV8HeapMiB: Math.round(heap / 2 ** 20),
    startupSec: Number(startupSec.toFixed(1)),
  };
  saveResult('collector-kafka', r);
  console.table({ 'raw chDB insert (ceiling)': { 'rows/s': r.rawChdbInsertRowsPerSec }, 'collector Kafka -> chDB': { 'rows/s': r.collectorFromKafkaRowsPerSec, 'x ceiling': r.collectorVsRaw, 'CPU s / M rows': r.collectorCpuSecPerMillionRows, 'peak RSS MiB': r.collectorPeakRssMiB, 'V8 heap MiB': r.collectorV8HeapMiB } });
}

interface Pipeline {
  agent: Awaited<ReturnType<typeof startShiplog>>;
  collector: Awaited<ReturnType<typeof startShiplog>>;
  label: string;
  stop(): Promise<void>;
}

async function pipeline(env: BenchEnv): Promise<Pipeline> {
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const label = `bench-${randomUUID().slice(0, 8)}`;
  const agent = await startShiplog('agent', { DOCKER_HOST: env.dockerHost, SHIPLOG_KAFKA_BROKERS: env.brokers, SHIPLOG_DATA_DIR: env.tmp('bench-agent-'), SHIPLOG_KAFKA_TOPIC_PREFIX: prefix, SHIPLOG_INCLUDE_LABELS: `shiplog.bench=${label}` });
  const collector = await startShiplog('collector', { SHIPLOG_KAFKA_BROKERS: env.brokers, SHIPLOG_DATA_DIR: env.tmp('bench-col-'), SHIPLOG_KAFKA_TOPIC_PREFIX: prefix, SHIPLOG_COLLECTOR_GROUP: `g-${prefix}` });
  return { agent, collector, label, stop: async () => void (await Promise.all([agent.stop(), collector.stop()])) };
}

async function endToEnd(env: BenchEnv): Promise<void> {
  const result: Record<string, unknown> = {};
  // Sustained: 1.5 M lines as fast as two containers can print them.
  {
    const pl = await pipeline(env);
    const N = 750_000;
    const t0 = Date.now();
    const ids = [0, 1].map((k) => sh(`docker run -d --network none --label shiplog.bench=${pl.label} ${IMAGE} sh -c "seq 1 ${N} | sed 's/^/GET \\/api\\/v1\\/items?page=${k} took 12ms request /'"`, env.denv));
    for (const id of ids) sh(`docker wait ${id}`, env.denv);
    const genSec = (Date.now() - t0) / 1000;
    while ((await pl.collector.metric('shiplog_collector_rows_inserted_total')) < 2 * N) await sleep(200);
    const sec = (Date.now() - t0) / 1000;
    result.sustainedLines = 2 * N;
    result.sustainedLinesPerSec = Math.round((2 * N) / sec);
    result.generatorLinesPerSec = Math.round((2 * N) / genSec);
    await pl.stop();
    sh(`docker rm -f ${ids.join(' ')}`, env.denv);
  }
  // Latency at a fixed rate: a container printing `per` lines every 10 ms for 30 s.
  for (const [rate, per] of [
    [1000, 10],
    [10000, 100],
  ] as const) {
    const pl = await pipeline(env);
    const id = sh(`docker run -d --network none --label shiplog.bench=${pl.label} ${IMAGE} sh -c "i=0; while [ \\$i -lt 3000 ]; do seq 1 ${per} | sed 's/^/tick /'; usleep 10000; i=\\$((i+1)); done"`, env.denv);
    const t0 = Date.now();
    sh(`docker wait ${id}`, env.denv);
    const genSec = (Date.now() - t0) / 1000;
    const total = 3000 * per;
    while ((await pl.collector.metric('shiplog_collector_rows_inserted_total')) < total) await sleep(200);
    const text = await pl.collector.metricsText();
    result[`at${rate}`] = {
      targetLinesPerSec: rate,
      generatorLinesPerSec: Math.round(total / genSec),
      p50Seconds: Number(histogramQuantile(text, 'shiplog_collector_line_latency_seconds', 0.5).toFixed(3)),
      p99Seconds: Number(histogramQuantile(text, 'shiplog_collector_line_latency_seconds', 0.99).toFixed(3)),
    };
    await pl.stop();
    sh(`docker rm -f ${id}`, env.denv);
  }
  saveResult('end-to-end', result);
  console.table({ sustained: { 'lines/s': result.sustainedLinesPerSec, 'generator lines/s': result.generatorLinesPerSec }, ...Object.fromEntries(['at1000', 'at10000'].map((k) => [k, result[k]])) });
}

async function manyContainers(env: BenchEnv): Promise<void> {
  const label = `bench-${randomUUID().slice(0, 8)}`;
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const agent = await startShiplog('agent', { DOCKER_HOST: env.dockerHost, SHIPLOG_KAFKA_BROKERS: env.brokers, SHIPLOG_DATA_DIR: env.tmp('bench-agent-'), SHIPLOG_KAFKA_TOPIC_PREFIX: prefix, SHIPLOG_INCLUDE_LABELS: `shiplog.bench=${label}` });
  const ids: string[] = [];
  for (let i = 0; i < 100; i++) ids.push(sh(`docker run -d --network none --label shiplog.bench=${label} ${IMAGE} sh -c "while :; do seq 1 10 | sed 's/^/c${i} line /'; usleep 100000; done"`, env.denv));
  await sleep(10_000);
  const s0 = procStat(agent.proc.pid as number);
  const l0 = await agent.metric('shiplog_agent_lines_shipped_total');
  const t0 = Date.now();
  await sleep(60_000);
  const s1 = procStat(agent.proc.pid as number);
  const l1 = await agent.metric('shiplog_agent_lines_shipped_total');
  const sec = (Date.now() - t0) / 1000;
  const r = {
    containers: 100,
    linesPerSec: Math.round((l1 - l0) / sec),
    agentCores: Number(((s1.cpuSec - s0.cpuSec) / sec).toFixed(3)),
    agentRssMiB: Math.round(s1.rssMiB),
    agentPeakRssMiB: Math.round(s1.hwmMiB),
    note: 'logs only: container stats are not collected yet',
  };
  await agent.stop();
  sh(`docker rm -f ${ids.join(' ')}`, env.denv);
  saveResult('many-containers', r);
  console.table({ '100 containers x ~100 lines/s': r });
}

/** What stats sampling costs the agent: 50 idle containers, with and without stats (10 s interval). */
async function statsCost(env: BenchEnv): Promise<void> {
  const label = `bench-${randomUUID().slice(0, 8)}`;
  const ids: string[] = [];
  for (let i = 0; i < 50; i++) ids.push(sh(`docker run -d --network none --label shiplog.bench=${label} ${IMAGE} sleep 600`, env.denv));
  const measure = async (interval: string) => {
    const prefix = `bench-${randomUUID().slice(0, 8)}`;
    const agent = await startShiplog('agent', { DOCKER_HOST: env.dockerHost, SHIPLOG_KAFKA_BROKERS: env.brokers, SHIPLOG_DATA_DIR: env.tmp('bench-agent-'), SHIPLOG_KAFKA_TOPIC_PREFIX: prefix, SHIPLOG_INCLUDE_LABELS: `shiplog.bench=${label}`, SHIPLOG_STATS_INTERVAL: interval });
    await sleep(10_000);
    const s0 = procStat(agent.proc.pid as number);
    const t0 = Date.now();
    await sleep(60_000);
    const s1 = procStat(agent.proc.pid as number);
    const samples = await agent.metric('shiplog_agent_stats_samples_total');
    await agent.stop();
    return { cores: (s1.cpuSec - s0.cpuSec) / ((Date.now() - t0) / 1000), samples, rssMiB: Math.round(s1.rssMiB) };
  };
  const off = await measure('0');
  const on = await measure('10s');
  sh(`docker rm -f ${ids.join(' ')}`, env.denv);
  const r = {
    containers: 50,
    intervalSeconds: 10,
    agentCoresWithoutStats: Number(off.cores.toFixed(4)),
    agentCoresWithStats: Number(on.cores.toFixed(4)),
    statsCostCores: Number((on.cores - off.cores).toFixed(4)),
    cpuMsPerSample: Number((((on.cores - off.cores) * 70_000) / Math.max(1, on.samples)).toFixed(2)),
    samples: on.samples,
  };
  saveResult('stats-cost', r);
  console.table({ '50 containers, stats every 10 s': r });
}

const all = {
  'stats-cost': statsCost, 'kafka-limit': kafkaLimit, 'collector-kafka': collectorKafka, 'end-to-end': endToEnd, 'many-containers': manyContainers };
await runScenarios(all, (chosen) => ({ docker: chosen.some((c) => c === 'end-to-end' || c === 'many-containers' || c === 'stats-cost'), kafka: true }));
