/**
 * The server backend (@clickhouse/client over HTTP) against a ClickHouse-HTTP endpoint on the
 * real engine, shared by several collector processes as a ClickHouse server would be:
 *  - two collectors in one group over a 6-partition topic, one killed mid-stream: totals exact;
 *  - storage unreachable for 30 s: consumption pauses, /readyz says so, nothing is lost.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { startAgent, startCollector, tempDir, type AgentProcess } from '../../helpers/agent-process.js';
import { runCleanups } from '../../helpers/cleanup.js';
import { removeContainers, runContainer, testScope, waitExit } from '../../helpers/docker.js';
import { groupCaughtUp, waitFor } from '../../helpers/kafka-read.js';
import { shipContainers } from '../../helpers/ship.js';
import { startChdbEndpoint, type ChdbEndpoint } from '../../helpers/store.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  await runCleanups(cleanups);
});

async function endpoint(): Promise<ChdbEndpoint> {
  const dir = tempDir('shiplog-chdb-http-');
  const ep = await startChdbEndpoint(dir.dir);
  cleanups.push(dir.cleanup, () => ep.stop());
  return ep;
}

async function totals(ep: ChdbEndpoint): Promise<{ total: number; uniq: number }> {
  const [r] = await ep.query<{ total: string; uniq: string }>('SELECT toString(count()) AS total, toString(uniqExact(ContainerId, Stream, Body)) AS uniq FROM shiplog.otel_logs');
  return { total: Number(r?.total), uniq: Number(r?.uniq) };
}

describe('collector with a ClickHouse server backend', () => {
  it('two collectors in one group, one killed mid-stream between insert and commit: every row once', async () => {
    const n = 12;
    const perContainer = 20_000;
    const shipped = await shipContainers(
      Array.from({ length: n }, (_, k) => ({ script: `seq 1 ${perContainer} | sed 's/^/g${k}-/'` })),
      n * perContainer,
      { SHIPLOG_KAFKA_PARTITIONS: '6', SHIPLOG_RECORD_BYTES: '8KiB' },
    );
    cleanups.push(shipped.cleanup);
    const ep = await endpoint();
    const group = `g-${randomUUID()}`;
    const env = {
      SHIPLOG_CLICKHOUSE_URL: ep.url,
      SHIPLOG_KAFKA_TOPIC_PREFIX: shipped.prefix,
      SHIPLOG_COLLECTOR_GROUP: group,
      SHIPLOG_COLLECTOR_BATCH_BYTES: '64KiB',
      SHIPLOG_COLLECTOR_CONCURRENCY: '1',
    };
    // Both join at once and share the partitions; one inserts three batches and dies before
    // committing the third.
    const [two, one] = await Promise.all([startCollector(env), startCollector({ ...env, SHIPLOG_FAULT_KILL_AFTER_INSERTS: '3' })]);
    cleanups.push(async () => void (await two.stop()));
    cleanups.push(async () => void (await one.stop()));
    // It dies by itself after its third insert; if the partitions it got ran dry first, it is
    // killed here once it has stored anything (or after 60 s), still mid-stream for the group.
    await waitFor(async () => one.proc.signalCode === 'SIGKILL' || (await one.metric('shiplog_collector_rows_inserted_total').catch(() => 0)) > 0, 60_000, 'the second collector to work').catch(() => undefined);
    if (one.proc.signalCode !== 'SIGKILL') await one.kill();
    await waitFor(() => groupCaughtUp(group, shipped.topic), 120_000, 'the survivor to take over and finish').catch((err: Error) => {
      throw new Error(`${err.message}\nsurvivor's log (tail):\n${two.output().slice(-4000)}`);
    });
    expect(await totals(ep)).toEqual({ total: n * perContainer, uniq: n * perContainer });
    // Joined with the other, and again when it died.
    expect(await two.metric('shiplog_collector_rebalances_total')).toBeGreaterThanOrEqual(2);
    await two.stop();
  });

  it('storage down for 30 s: consumption pauses, /readyz is 503, then it resumes by itself with nothing lost', async () => {
    const ep = await endpoint();
    const scope = testScope();
    const prefix = `t-${randomUUID()}`;
    const data = tempDir('shiplog-agent-');
    cleanups.push(data.cleanup);
    const agent: AgentProcess = await startAgent({ SHIPLOG_DATA_DIR: data.dir, SHIPLOG_KAFKA_TOPIC_PREFIX: prefix, SHIPLOG_INCLUDE_LABELS: `${scope.label}=${scope.value}`, SHIPLOG_KAFKA_PARTITIONS: '2' });
    cleanups.push(async () => void (await agent.stop()));
    const group = `g-${randomUUID()}`;
    const collector = await startCollector({ SHIPLOG_CLICKHOUSE_URL: ep.url, SHIPLOG_KAFKA_TOPIC_PREFIX: prefix, SHIPLOG_COLLECTOR_GROUP: group });
    cleanups.push(async () => void (await collector.stop()));
    // 40 s of logging, 200 lines every 0.5 s.
    const c = await runContainer({ script: `b=0; while [ $b -lt 80 ]; do seq $((b*200+1)) $((b*200+200)) | sed 's/^/s-/'; b=$((b+1)); sleep 0.5; done`, labels: scope.labels });
    cleanups.push(() => removeContainers([c.id]));
    await waitFor(async () => (await collector.metric('shiplog_collector_rows_inserted_total')) > 500, 60_000, 'rows before the outage');

    await ep.stop();
    await waitFor(async () => (await fetch(`${collector.url}/readyz`)).status === 503, 30_000, '/readyz to report storage down');
    expect(await collector.metric('shiplog_collector_storage_up')).toBe(0);
    await new Promise((r) => setTimeout(r, 30_000));
    expect(await collector.metric('shiplog_collector_storage_errors_total')).toBeGreaterThan(0);
    await ep.restart();

    await waitExit(c.id);
    await waitFor(async () => (await agent.metric('shiplog_agent_lines_shipped_total')) >= 16_000, 60_000, 'all lines shipped');
    await waitFor(() => groupCaughtUp(group, `${prefix}.logs`), 120_000, 'the collector to catch up');
    expect((await fetch(`${collector.url}/readyz`)).status).toBe(200);
    expect(await totals(ep)).toEqual({ total: 16_000, uniq: 16_000 });
  }, 600_000);
});
