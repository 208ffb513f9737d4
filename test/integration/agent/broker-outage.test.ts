/**
 * Kafka down for 30 s while containers keep logging: the agent keeps running, pauses its
 * Docker streams once its (small) buffer is full, and after the broker returns every line
 * arrives exactly once; its memory stays bounded.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { startAgent, tempDir, type AgentProcess } from '../../helpers/agent-process.js';
import { removeContainers, runContainer, testScope, waitExit } from '../../helpers/docker.js';
import { sameLines, seqLines, streamOf } from '../../helpers/expect-lines.js';
import { linesByContainer, readTopic, waitFor } from '../../helpers/kafka-read.js';
import { startOwnBroker, type OwnBroker } from '../../helpers/own-broker.js';

let broker: OwnBroker | undefined;
let agent: AgentProcess | undefined;
const created: string[] = [];
const data = tempDir('shiplog-agent-');

afterAll(async () => {
  await agent?.stop();
  await broker?.remove();
  await removeContainers(created);
  data.cleanup();
});

it('loses nothing and duplicates nothing while the broker is down for 30 s', async () => {
  broker = await startOwnBroker();
  const scope = testScope();
  const prefix = `t-${randomUUID()}`;
  agent = await startAgent({
    SHIPLOG_KAFKA_BROKERS: broker.brokers,
    SHIPLOG_DATA_DIR: data.dir,
    SHIPLOG_KAFKA_TOPIC_PREFIX: prefix,
    SHIPLOG_INCLUDE_LABELS: `${scope.label}=${scope.value}`,
    SHIPLOG_KAFKA_PARTITIONS: '2',
    SHIPLOG_BUFFER_BYTES: '1MiB',
  });
  // ~45 s of logging: 2 x 500 lines every 0.5 s, plus a burst larger than the buffer while Kafka is down.
  const script = (tag: string) =>
    `b=0; while [ $b -lt 90 ]; do seq $((b*500+1)) $((b*500+500)) | sed 's/^/${tag}-/'; b=$((b+1)); sleep 0.5; done`;
  const a = await runContainer({ script: script('a'), labels: scope.labels });
  const b = await runContainer({ script: `${script('b')} >&2`, labels: scope.labels });
  created.push(a.id, b.id);
  await waitFor(async () => (await agent!.metric('shiplog_agent_lines_shipped_total')) > 1000, 30_000, 'shipping before the outage');

  await broker.halt();
  const burst = await runContainer({ script: `sleep 2; seq 1 60000 | sed 's/^/burst-/'`, labels: scope.labels });
  created.push(burst.id);
  await new Promise((r) => setTimeout(r, 30_000));
  // While Kafka is down the agent is alive, reports the failing transport, and has paused reading.
  const health = (await (await fetch(`${agent.url}/healthz`)).json()) as { status: string; transport: string };
  expect(health.status).toBe('ok');
  expect(health.transport).toBe('failing');
  // Not ready while nothing can be shipped.
  const ready = await fetch(`${agent.url}/readyz`);
  expect(ready.status).toBe(503);
  expect(((await ready.json()) as { status: string }).status).toBe('transport-failing');
  expect(await agent.metric('shiplog_agent_backpressure_pauses_total')).toBeGreaterThan(0);
  expect(await agent.metric('shiplog_agent_buffered_bytes')).toBeLessThan(2 * 1024 * 1024);
  await broker.restart();

  await Promise.all([waitExit(a.id), waitExit(b.id), waitExit(burst.id)]);
  const want = new Map([
    [a.id, { stdout: seqLines('a-', 1, 45_000), stderr: [] as Buffer[] }],
    [b.id, { stdout: [], stderr: seqLines('b-', 1, 45_000) }],
    [burst.id, { stdout: seqLines('burst-', 1, 60_000), stderr: [] }],
  ]);
  await waitFor(async () => (await agent!.metric('shiplog_agent_lines_shipped_total')) >= 150_000, 120_000, 'catching up after the outage');
  await waitFor(async () => (await fetch(`${agent!.url}/readyz`)).status === 200, 60_000, 'the agent ready again');
  const by = linesByContainer(await readTopic(`${prefix}.logs`, broker.brokers));
  for (const [id, w] of want) {
    sameLines(streamOf(by.get(id)?.lines ?? [], 'stdout'), w.stdout, `${id.slice(0, 12)} stdout`);
    sameLines(streamOf(by.get(id)?.lines ?? [], 'stderr'), w.stderr, `${id.slice(0, 12)} stderr`);
  }
  expect(await agent.metric('shiplog_agent_lines_dropped_total')).toBe(0);
  // Memory during the outage is bounded by the buffer (asserted above); its RSS is a benchmark figure.
}, 300_000);
