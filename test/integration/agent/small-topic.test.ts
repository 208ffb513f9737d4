/**
 * A topic created by someone else with a small max.message.bytes: the agent fits records and
 * line parts into it, splits batches the broker refuses, and still delivers every byte.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, expect, it, inject } from 'vitest';
import { startAgent, tempDir, type AgentProcess } from '../../helpers/agent-process.js';
import { removeContainers, runContainer, testScope, waitExit } from '../../helpers/docker.js';
import { linesByContainer, readTopic, waitFor } from '../../helpers/kafka-read.js';

const data = tempDir('shiplog-agent-');
let agent: AgentProcess | undefined;
const created: string[] = [];

afterAll(async () => {
  await agent?.stop();
  await removeContainers(created);
  data.cleanup();
});

it('ships a 1 MiB line and large batches through a topic that takes 128 KiB messages', async () => {
  const prefix = `t-${randomUUID()}`;
  const kafka = new Kafka({ brokers: inject('kafkaBrokers').split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: `${prefix}.logs`, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: String(128 * 1024) }] }] });
  await admin.disconnect();

  const scope = testScope();
  agent = await startAgent({
    SHIPLOG_DATA_DIR: data.dir,
    SHIPLOG_KAFKA_TOPIC_PREFIX: prefix,
    SHIPLOG_INCLUDE_LABELS: `${scope.label}=${scope.value}`,
    SHIPLOG_KAFKA_COMPRESSION: 'none',
    SHIPLOG_BATCH_BYTES: '4MiB',
    SHIPLOG_BATCH_LINGER: '500ms',
  });
  // Random-looking lines do not compress; the 1 MiB line must travel in parts.
  const c = await runContainer({
    script: "head -c 1048576 /dev/zero | tr '\\0' q; echo; seq 1 30000 | sed 's/$/ some padding to make the batch large/'",
    labels: scope.labels,
  });
  created.push(c.id);
  await waitExit(c.id);
  await waitFor(async () => (await agent!.metric('shiplog_agent_lines_shipped_total')) >= 30_000 + 2, 60_000, 'all parts shipped');
  expect(agent.output()).toContain('longer lines are shipped in more parts');
  const lines = linesByContainer(await readTopic(`${prefix}.logs`)).get(c.id)?.lines ?? [];
  // Parts marked split, then the last part: together the original line.
  const firstWhole = lines.findIndex((l) => !l.split);
  expect(firstWhole).toBeGreaterThan(0);
  const joined = Buffer.concat(lines.slice(0, firstWhole + 1).map((l) => l.bytes));
  expect(joined.equals(Buffer.alloc(1048576, 'q'))).toBe(true);
  const rest = lines.slice(firstWhole + 1).map((l) => l.bytes.toString());
  expect(rest).toHaveLength(30_000);
  expect(rest[29_999]).toBe('30000 some padding to make the batch large');
  expect(await agent.metric('shiplog_agent_lines_dropped_total')).toBe(0);
  expect(await agent.metric('shiplog_agent_lines_split_total')).toBeGreaterThan(0);
  expect(await agent.metric('shiplog_agent_batches_split_total')).toBeGreaterThan(0);
});
