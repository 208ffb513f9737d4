/**
 * cluster: end to end through a three-broker Kafka cluster (test/env/kafka-cluster.sh, KRaft,
 * topics with three replicas and min.insync.replicas 2) into a ClickHouse HTTP endpoint over
 * chDB (test/env/chdb-http-server.mjs, standing in for a server), with 1 and then 2 collectors.
 * Four containers print 250,000 lines each as fast as they can; measured: lines/s shipped by
 * the agent and stored, and each component's CPU seconds per million lines (agent, collectors,
 * the three brokers, the store, dockerd) — the figures the README's capacity model rests on.
 * A third run has one loud container print the million lines: its lines share one partition
 * (the record key is the container), so one collector stores them, in order — the ceiling of a
 * single container.
 * Reference, same run: Kafka's own ProducerPerformance sending the agent's own records (read
 * back from the topic) to the same cluster with the agent's producer settings.
 * Everything shares this machine's cores, so the rates are of the whole pipeline on one box;
 * the CPU seconds per line are what scale out.
 * Usage: node dist/bench/cluster.js
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import kafkajs from 'kafkajs';
import { IMAGE, dockerdPid, procStat, root, runScenarios, saveResult, sh, sleep, startShiplog, type BenchEnv, type ShiplogProc } from './lib/env.js';
import { kafkaProducerRecordsPerSec } from './lib/kafka.js';
import type { LogRecord } from '../lib/records.js';

const TOTAL = Number(process.env.BENCH_CLUSTER_LINES ?? 1_000_000);
const SCRIPT = join(root, 'test/env/kafka-cluster.sh');

interface Cluster {
  brokers: string;
  pids(): number[];
  stop(): void;
}

function startCluster(): Cluster {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cluster-'));
  const brokers = sh(`bash ${SCRIPT} start ${dir} ${20000 + Math.floor(Math.random() * 500) * 12}`);
  return {
    brokers,
    pids: () => [1, 2, 3].map((n) => Number(readFileSync(`${dir}/node${n}/kafka.pid`, 'utf8'))),
    // Stops the nodes and removes the folder.
    stop: () => void sh(`bash ${SCRIPT} stop ${dir}`),
  };
}

function startStore(env: BenchEnv): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [join(root, 'test/env/chdb-http-server.mjs'), env.tmp('bench-store-'), '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((res, rej) => {
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+)/.exec(out);
      if (m) res({ url: m[1] as string, proc });
    });
    proc.on('exit', (code) => rej(new Error(`chdb-http-server exited with ${code}`)));
  });
}

/** Every record of a topic, as the agent wrote them. */
async function recordsOf(brokers: string, topic: string): Promise<string[]> {
  const kafka = new kafkajs.Kafka({ brokers: brokers.split(','), logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
  await admin.disconnect();
  const c = kafka.consumer({ groupId: `bench-read-${randomUUID()}` });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  const out: string[] = [];
  const left = new Set([...ends].filter(([, high]) => high > 0n).map(([p]) => p));
  await new Promise<void>((res) => {
    if (!left.size) res();
    void c.run({
      eachMessage: async ({ partition, message }) => {
        if (message.value) out.push(message.value.toString());
        if (BigInt(message.offset) + 1n >= (ends.get(partition) ?? 0n)) left.delete(partition);
        if (!left.size) res();
      },
    });
  });
  await c.disconnect();
  return out;
}

async function once(env: BenchEnv, cluster: Cluster, store: { url: string; proc: ChildProcess }, collectors: number, containers: number) {
  const lines = TOTAL / containers;
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const label = `bench-${randomUUID().slice(0, 8)}`;
  const kafkaEnv = { SHIPLOG_KAFKA_BROKERS: cluster.brokers, SHIPLOG_KAFKA_TOPIC_PREFIX: prefix };
  const cols: ShiplogProc[] = [];
  for (let i = 0; i < collectors; i++) cols.push(await startShiplog('collector', { ...kafkaEnv, SHIPLOG_CLICKHOUSE_URL: store.url, SHIPLOG_COLLECTOR_GROUP: `g-${prefix}` }));
  const agent = await startShiplog('agent', { ...kafkaEnv, DOCKER_HOST: env.dockerHost, SHIPLOG_DATA_DIR: env.tmp('bench-agent-'), SHIPLOG_INCLUDE_LABELS: `shiplog.bench=${label}`, SHIPLOG_KAFKA_PARTITIONS: '6', SHIPLOG_KAFKA_REPLICATION_FACTOR: '3', SHIPLOG_KAFKA_MIN_INSYNC_REPLICAS: '2', SHIPLOG_STATS_INTERVAL: '0' });
  const pids = { agent: [agent.proc.pid as number], collectors: cols.map((c) => c.proc.pid as number), brokers: cluster.pids(), store: [store.proc.pid as number], dockerd: [dockerdPid(env.dockerHost)] };
  const cpu = () => Object.fromEntries(Object.entries(pids).map(([k, ps]) => [k, ps.reduce((s, p) => s + procStat(p).cpuSec, 0)]));
  const total = containers * lines;
  const c0 = cpu();
  const t0 = Date.now();
  const ids = Array.from({ length: containers }, (_, k) => sh(`docker run -d --network none --label shiplog.bench=${label} ${IMAGE} sh -c "seq 1 ${lines} | sed 's/^/GET \\/api\\/v1\\/items?page=${k} took 12ms request /'"`, env.denv));
  let shippedSec = 0;
  const stored = async () => (await Promise.all(cols.map((c) => c.metric('shiplog_collector_rows_inserted_total', { table: 'otel_logs' })))).reduce((a, b) => a + b, 0);
  while ((await stored()) < total) {
    if (!shippedSec && (await agent.metric('shiplog_agent_lines_shipped_total')) >= total) shippedSec = (Date.now() - t0) / 1000;
    if (Date.now() - t0 > 900_000) throw new Error(`not stored within 15 minutes: ${await stored()} of ${total}`);
    await sleep(100);
  }
  const sec = (Date.now() - t0) / 1000;
  shippedSec ||= sec;
  const c1 = cpu();
  const rss = { agent: procStat(agent.proc.pid as number).hwmMiB, collector: Math.max(...cols.map((c) => procStat(c.proc.pid as number).hwmMiB)) };
  await agent.stop();
  await Promise.all(cols.map((c) => c.stop()));
  sh(`docker rm -f ${ids.join(' ')}`, env.denv);
  const perM = (k: string) => Number(((((c1[k] as number) - (c0[k] as number)) * 1e6) / total).toFixed(2));
  return {
    prefix,
    collectors,
    containers,
    lines: total,
    agentShippedLinesPerSec: Math.round(total / shippedSec),
    storedLinesPerSec: Math.round(total / sec),
    cpuSecPerMillionLines: { agent: perM('agent'), collectors: perM('collectors'), brokers: perM('brokers'), store: perM('store'), dockerd: perM('dockerd') },
    peakRssMiB: { agent: Math.round(rss.agent), collector: Math.round(rss.collector) },
  };
}

async function cluster(env: BenchEnv): Promise<void> {
  const c = startCluster();
  const store = await startStore(env);
  try {
    const runs = [];
    for (const [n, k] of [
      [1, 4],
      [2, 4],
      [2, 1],
    ] as const) {
      const r = await once(env, c, store, n, k);
      console.log(JSON.stringify(r));
      runs.push(r);
    }
    // Reference: Kafka's own producer with the agent's records (acks=all, idempotent, gzip 1).
    const first = runs[0] as Awaited<ReturnType<typeof once>>;
    const records = await recordsOf(c.brokers, `${first.prefix}.logs`);
    const linesPerRecord = records.reduce((n, v) => n + (JSON.parse(v) as LogRecord).lines.length, 0) / records.length;
    // Four times the run's records, picked at random from them.
    const recPerSec = await kafkaProducerRecordsPerSec(c.brokers, env.kafkaJars, env.tmp('bench-cluster-perf-'), `bench-perf-${randomUUID().slice(0, 8)}`, records, 4 * records.length);
    const r = {
      brokers: 3,
      replicationFactor: 3,
      minInsyncReplicas: 2,
      partitions: 6,
      reference: { kafkaProducerPerfRecordsPerSec: Math.round(recPerSec), kafkaProducerPerfLinesPerSec: Math.round(recPerSec * linesPerRecord), linesPerRecord: Math.round(linesPerRecord) },
      runs: runs.map(({ prefix: _p, ...rest }) => rest),
    };
    saveResult('cluster', r);
    console.table(Object.fromEntries(runs.map((x) => [`${x.collectors} collector(s), ${x.containers} container(s)`, { 'shipped lines/s': x.agentShippedLinesPerSec, 'stored lines/s': x.storedLinesPerSec, ...x.cpuSecPerMillionLines }])));
    console.table({ 'Kafka ProducerPerformance, agent records, same cluster': r.reference });
  } finally {
    store.proc.kill();
    c.stop();
  }
}

await runScenarios({ cluster }, () => ({ docker: true, kafka: false }));
