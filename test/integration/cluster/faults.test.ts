/**
 * A three-broker Kafka cluster (KRaft, test/env/kafka-cluster.sh), topics with three replicas and
 * min.insync.replicas 2 (the agent's settings), an agent, two collectors and a store (the
 * ClickHouse HTTP endpoint over chDB). While four containers write sequence-numbered lines:
 * the leader of the busiest partition is SIGKILLed and brought back; the three brokers are
 * restarted one by one; one broker is down for 60 s (the ISR shrinks to two) and for part of
 * it a second one (nothing can be written: the agent is not ready and says why); a collector
 * joins while every insert takes 4 s; a collector is SIGKILLed and another added. After each,
 * every line is stored exactly once, each container's lines in order, and the collectors are
 * ready.
 */
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, startCollector, tempDir, type AgentProcess } from '../../helpers/agent-process.js';
import { runCleanups } from '../../helpers/cleanup.js';
import { removeContainers, runContainer, testScope, waitExit } from '../../helpers/docker.js';
import { linesByContainer, readTopic, waitFor } from '../../helpers/kafka-read.js';
import { startCluster, type TestCluster } from '../../helpers/cluster.js';
import { startChdbEndpoint, type ChdbEndpoint } from '../../helpers/store.js';

const cleanups: (() => Promise<void> | void)[] = [];
let dir: ReturnType<typeof tempDir>;
let brokers = '';
let ep: ChdbEndpoint;
let cluster: TestCluster;

const N = 4;
const LINES = 20_000;

interface Run {
  topic: string;
  admin: kafkajs.Admin;
  agent: AgentProcess;
  collectors: AgentProcess[];
  /** Starts one more collector in the group. */
  addCollector(): Promise<AgentProcess>;
}

/**
 * Agent, two collectors and four containers writing numbered lines over ~`writeSeconds` (20 s);
 * `fault` runs once 15 % of the lines are shipped. Then: every line stored once, each
 * container's in order.
 */
async function underLoad(fault: (r: Run) => Promise<void>, writeSeconds = 20): Promise<void> {
  const prefix = `cl-${randomUUID().slice(0, 8)}`;
  const topic = `${prefix}.logs`;
  const scope = testScope();
  const kafkaEnv = { SHIPLOG_KAFKA_BROKERS: brokers, SHIPLOG_KAFKA_TOPIC_PREFIX: prefix };
  const agent = await startAgent({ ...kafkaEnv, SHIPLOG_DATA_DIR: `${dir.dir}/agent-${prefix}`, SHIPLOG_INCLUDE_LABELS: `${scope.label}=${scope.value}`, SHIPLOG_KAFKA_PARTITIONS: '3', SHIPLOG_KAFKA_REPLICATION_FACTOR: '3', SHIPLOG_KAFKA_MIN_INSYNC_REPLICAS: '2', SHIPLOG_STATS_INTERVAL: '0', SHIPLOG_BATCH_LINGER: '100ms' });
  cleanups.push(async () => void (await agent.stop()));
  const collectors: AgentProcess[] = [];
  const addCollector = async () => {
    const c = await startCollector({ ...kafkaEnv, SHIPLOG_CLICKHOUSE_URL: ep.url, SHIPLOG_COLLECTOR_GROUP: `g-${prefix}` });
    cleanups.push(async () => void (await c.stop()));
    collectors.push(c);
    return c;
  };
  for (let i = 0; i < 2; i++) await addCollector();
  const admin = new kafkajs.Kafka({ clientId: 'test-admin', brokers: brokers.split(','), logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  await waitFor(async () => (await admin.listTopics()).includes(topic), 60_000, 'the agent to create its topics');
  const [desc] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
  expect(desc?.partitions.every((p) => p.replicas.length === 3)).toBe(true);
  const cfg = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['min.insync.replicas'] }] });
  expect(cfg.resources[0]?.configEntries[0]?.configValue).toBe('2');

  const ids: string[] = [];
  for (let k = 0; k < N; k++) {
    const script = `i=0; while [ $i -lt 100 ]; do seq $((i*${LINES / 100}+1)) $((i*${LINES / 100}+${LINES / 100})) | sed s/^/c${k}-/; i=$((i+1)); sleep ${(writeSeconds / 100).toFixed(2)}; done`;
    ids.push((await runContainer({ script, labels: scope.labels })).id);
  }
  cleanups.push(() => removeContainers(ids));
  await waitFor(async () => (await agent.metric('shiplog_agent_lines_shipped_total')) > N * LINES * 0.15, 120_000, 'a good part of the lines shipped');
  await fault({ topic, admin, agent, collectors, addCollector });

  for (const id of ids) await waitExit(id);
  await waitFor(async () => Number((await ep.query<{ n: string }>(`SELECT toString(count()) AS n FROM shiplog.otel_logs WHERE ContainerId IN ('${ids.join("','")}')`).catch(() => []))[0]?.n) >= N * LINES, 240_000, 'every line stored').catch(async (err) => {
    const per = await ep.query(`SELECT ContainerId, count() AS n, uniqExact(Body) AS u FROM shiplog.otel_logs WHERE ContainerId IN ('${ids.join("','")}') GROUP BY ContainerId`);
    console.log(JSON.stringify({ per, shipped: await agent.metric('shiplog_agent_lines_shipped_total'), offsets: await admin.fetchTopicOffsets(topic) }));
    // Are the missing lines in Kafka (then the collectors skipped them) or not (lost before)?
    const inKafka = linesByContainer(await readTopic(topic, brokers));
    for (const id of ids) {
      const stored = new Set((await ep.query<{ b: string }>(`SELECT Body AS b FROM shiplog.otel_logs WHERE ContainerId = '${id}'`)).map((r) => r.b));
      const k = inKafka.get(id);
      const missing = (k?.lines ?? []).map((l) => l.bytes.toString()).filter((b) => !stored.has(b));
      const offs = await ep.query(`SELECT KafkaPartition AS p, min(KafkaOffset) AS lo, max(KafkaOffset) AS hi, count() AS n, uniqExact(KafkaOffset) AS recs FROM shiplog.otel_logs WHERE ContainerId = '${id}' GROUP BY p`);
      console.log(JSON.stringify({ id: id.slice(0, 12), inKafka: k?.lines.length, kafkaRecords: k?.records.length, missingFirst: missing.slice(0, 3), missingN: missing.length, offs }));
    }
    for (const c of collectors) console.log(c.output().split('\n').filter((l) => /warn|error|"level":[45]0/.test(l)).slice(-6).join('\n'));
    console.log(agent.output().split('\n').filter((l) => /warn|error|"level":[45]0/.test(l)).slice(-10).join('\n'));
    throw err;
  });
  // Settle: anything stored twice would show now.
  await new Promise((r) => setTimeout(r, 3_000));
  for (let k = 0; k < N; k++) {
    const rows = await ep.query<{ b: string }>(`SELECT Body AS b FROM shiplog.otel_logs WHERE ContainerId = '${ids[k]}' ORDER BY KafkaPartition, KafkaOffset, RecordLine`);
    expect(rows.length, `container ${k}: stored once each`).toBe(LINES);
    // In the order written: one container's lines are one partition's, in offset order.
    expect(rows.map((r) => Number(r.b.slice(`c${k}-`.length)))).toEqual(Array.from({ length: LINES }, (_, i) => i + 1));
  }
  // How often the agent had to send records again that the Kafka client had left unanswered:
  // the metric counts what the log says.
  const resends = await agent.metric('shiplog_agent_kafka_unanswered_resends_total');
  console.log(`${topic}: sends with partitions left unanswered by kafkajs: ${resends}`);
  expect(resends).toBe(agent.output().split('without an answer for some partitions').length - 1);
  // And the collectors say they are ready again.
  for (const c of collectors.filter((c) => c.proc.exitCode === null && c.proc.signalCode === null)) await waitFor(async () => (await fetch(`${c.url}/readyz`)).status === 200, 60_000, 'collectors ready');
}

const leaderOf = async (admin: kafkajs.Admin, topic: string, partition: number) =>
  (await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined))?.topics[0]?.partitions.find((p) => p.partitionId === partition)?.leader ?? -1;

/**
 * Found here: kafkajs 2.2.4 lost acknowledged lines after a broker fault (a retry skipped a
 * broker that had answered, though it now led a partition whose request failed, and reported the
 * batch sent). Before the agent checked the answer, about one leader-kill run in eight and a
 * rolling restart lost one or two records of one partition; the lines were never in the topic.
 */
describe('a three-broker cluster, faults under load, exact counts', () => {
  beforeAll(async () => {
    dir = tempDir('shiplog-cluster-');
    cluster = await startCluster(`${dir.dir}/kafka`);
    brokers = cluster.brokers;
    cleanups.push(() => cluster.stop(), dir.cleanup);
    ep = await startChdbEndpoint(`${dir.dir}/store`);
    cleanups.push(() => ep.stop());
  }, 240_000);

  afterAll(async () => {
    await runCleanups(cleanups);
  });

  it('the leader of the busiest partition SIGKILLed and brought back', async () => {
    await underLoad(async ({ topic, admin, agent }) => {
      const offsets = await admin.fetchTopicOffsets(topic);
      const busiest = offsets.reduce((a, b) => (BigInt(b.high) > BigInt(a.high) ? b : a));
      const before = await leaderOf(admin, topic, busiest.partition);
      expect(before).toBeGreaterThan(0);
      await cluster.node('kill', before);
      // Another broker takes the partition over (2 in sync of the 2 left: still writable).
      await waitFor(async () => {
        const now = await leaderOf(admin, topic, busiest.partition);
        return now > 0 && now !== before;
      }, 60_000, 'a new leader');
      // Lines keep flowing while that broker is down (the producer finds the new leader).
      const shippedAtKill = await agent.metric('shiplog_agent_lines_shipped_total');
      await waitFor(async () => (await agent.metric('shiplog_agent_lines_shipped_total')) > shippedAtKill, 60_000, 'shipping with the old leader down').catch((err) => {
        console.log(agent.output().split('\n').filter((l) => /"level":[456]0/.test(l)).slice(-15).join('\n'));
        throw err;
      });
      await cluster.node('restart', before);
    });
  });

  it('a rolling restart of all three brokers, one by one', async () => {
    await underLoad(async ({ agent }) => {
      for (const node of [1, 2, 3]) {
        const before = await agent.metric('shiplog_agent_lines_shipped_total');
        await cluster.node('halt', node);
        await new Promise((r) => setTimeout(r, 3_000));
        await cluster.node('restart', node);
        // Shipping went on through each restart.
        await waitFor(async () => {
          const now = await agent.metric('shiplog_agent_lines_shipped_total');
          return now > before || now >= N * LINES;
        }, 60_000, `shipping after broker ${node} restarted`);
      }
    });
  });

  it('one broker down for 60 s: the ISR shrinks to two and writes go on; a second one down: nothing can be written, and the agent says so', async () => {
    const shipped = 'shiplog_agent_lines_shipped_total';
    const ready = async (url: string) => (await fetch(`${url}/readyz`)).status;
    await underLoad(async ({ topic, admin, agent, collectors }) => {
      const isr = async () => (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions.map((p) => p.isr.length) ?? [];
      await cluster.node('halt', 3);
      const downAt = Date.now();
      await waitFor(async () => (await isr()).every((n) => n === 2), 60_000, 'the ISR shrinking to two');
      // Two in sync is min.insync.replicas: still writable, and every part says it is fine.
      const before = await agent.metric(shipped);
      await waitFor(async () => (await agent.metric(shipped)) > before, 60_000, 'shipping with one broker down');
      expect(await ready(agent.url)).toBe(200);
      for (const c of collectors) await waitFor(async () => (await ready(c.url)) === 200, 60_000, 'collectors ready with one broker down');

      // One replica left in sync, below min.insync.replicas: no partition takes a write.
      await cluster.node('halt', 2);
      await waitFor(async () => (await ready(agent.url)) === 503, 60_000, 'the agent not ready while nothing can be written');
      const body = (await (await fetch(`${agent.url}/readyz`)).json()) as { status: string; transport: string };
      expect(body).toMatchObject({ status: 'transport-failing', transport: 'failing' });
      // Nothing is shipped meanwhile, and the lag says how far behind it is.
      const stuck = await agent.metric(shipped);
      await new Promise((r) => setTimeout(r, 5_000));
      expect(await agent.metric(shipped)).toBe(stuck);
      expect(await agent.metric('shiplog_agent_checkpoint_lag_seconds')).toBeGreaterThan(10);

      await cluster.node('restart', 2);
      await waitFor(async () => (await ready(agent.url)) === 200, 120_000, 'the agent ready again with two brokers');
      // Broker 3 stays down for its 60 s.
      await new Promise((r) => setTimeout(r, Math.max(0, 60_000 - (Date.now() - downAt))));
      await cluster.node('restart', 3);
      await waitFor(async () => (await isr()).every((n) => n === 3), 120_000, 'the ISR back to three');
    }, 75);
  });

  it('a rebalance while the store is slow: a collector added while every insert takes 4 s', async () => {
    await underLoad(async ({ collectors, addCollector }) => {
      const old = [...collectors];
      const sum = async (name: string) => (await Promise.all(old.map((c) => c.metric(name)))).reduce((x, y) => x + y, 0);
      const insertSecondsBefore = await sum('shiplog_collector_insert_duration_seconds_sum');
      const joinsBefore = await Promise.all(old.map((c) => c.metric('shiplog_collector_rebalances_total')));
      await ep.setInsertDelay(4_000);
      try {
        await new Promise((r) => setTimeout(r, 3_000));
        // The group rebalances while each collector has an insert in flight.
        await addCollector();
        await new Promise((r) => setTimeout(r, 12_000));
        // What the collectors say: slow inserts, and each of them rejoined the group.
        expect(await sum('shiplog_collector_insert_duration_seconds_sum')).toBeGreaterThan(insertSecondsBefore + 4);
        const joins = await Promise.all(old.map((c) => c.metric('shiplog_collector_rebalances_total')));
        joins.forEach((n, i) => expect(n).toBeGreaterThan(joinsBefore[i] as number));
      } finally {
        await ep.setInsertDelay(0);
      }
    });
  });

  it('a collector SIGKILLed and another added mid-stream', async () => {
    await underLoad(async ({ collectors, addCollector }) => {
      await (collectors[0] as AgentProcess).kill();
      await addCollector();
    });
  });
});
