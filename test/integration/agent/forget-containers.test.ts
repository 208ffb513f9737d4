/**
 * Nothing in the agent grows with the containers seen over time: a removed container's
 * metric series go once its lines are shipped and SHIPLOG_CONTAINER_TTL has passed; a
 * running container's stay.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { startAgent, tempDir, type AgentProcess } from '../../helpers/agent-process.js';
import { runCleanups } from '../../helpers/cleanup.js';
import { docker, removeContainers, runContainer, testScope, waitExit } from '../../helpers/docker.js';
import { waitFor } from '../../helpers/kafka-read.js';
import { createTopics } from '../../helpers/topics.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  await runCleanups(cleanups);
});

describe('agent memory over container churn', () => {
  it('drops the metric series of removed containers after SHIPLOG_CONTAINER_TTL, keeps those of running ones', async () => {
    const prefix = `t-${randomUUID()}`;
    await createTopics(prefix);
    const data = tempDir('shiplog-forget-');
    cleanups.push(data.cleanup);
    const scope = testScope();
    const agent: AgentProcess = await startAgent({
      SHIPLOG_DATA_DIR: data.dir,
      SHIPLOG_KAFKA_TOPIC_PREFIX: prefix,
      SHIPLOG_INCLUDE_LABELS: `${scope.label}=${scope.value}`,
      SHIPLOG_STATS_INTERVAL: '0',
      SHIPLOG_CONTAINER_TTL: '1s',
    });
    cleanups.push(async () => {
      await agent.stop();
    });
    const gone = await runContainer({ script: 'echo one; echo two; sleep 1', labels: scope.labels });
    const stays = await runContainer({ script: 'echo here; sleep 3600', labels: scope.labels });
    cleanups.push(() => removeContainers([gone.id, stays.id]));
    const series = async (name: string) => (await agent.metrics()).split('\n').filter((l) => !l.startsWith('#') && l.includes(`container="${name}"`));
    await waitFor(async () => (await agent.metric('shiplog_agent_lines_shipped_total', { container: gone.name })) === 2, 60_000, 'the lines of the short-lived container shipped');
    await waitFor(async () => (await agent.metric('shiplog_agent_lines_shipped_total', { container: stays.name })) === 1, 60_000, 'the line of the running container shipped');
    expect((await series(gone.name)).length).toBeGreaterThan(0);
    await waitExit(gone.id);
    await docker(['rm', gone.id]);
    await waitFor(async () => (await series(gone.name)).length === 0, 30_000, 'the removed container\'s series to go');
    expect(await agent.metric('shiplog_agent_lines_shipped_total', { container: stays.name })).toBe(1);
    expect((await series(stays.name)).length).toBeGreaterThan(0);
  });
});
