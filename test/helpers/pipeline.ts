/**
 * An agent (scoped to one test's containers) shipping through Kafka to a collector that
 * stores through the ClickHouse-HTTP endpoint over chDB, so the test can query the store too.
 * Everything it starts is stopped by the given cleanups.
 */
import { startAgent, startCollector, tempDir, type AgentProcess } from './agent-process.js';
import { testScope } from './docker.js';
import { startChdbEndpoint, type ChdbEndpoint } from './store.js';

export interface Pipeline {
  scope: ReturnType<typeof testScope>;
  agent: AgentProcess;
  collector: AgentProcess;
  ep: ChdbEndpoint;
}

export async function startPipeline(o: { prefix: string; group: string; agentEnv?: Record<string, string>; collectorEnv?: Record<string, string> }, cleanups: (() => Promise<void> | void)[]): Promise<Pipeline> {
  const scope = testScope();
  const adata = tempDir('shiplog-agent-');
  const sdata = tempDir('shiplog-chdb-http-');
  cleanups.push(adata.cleanup, sdata.cleanup);
  const ep = await startChdbEndpoint(sdata.dir);
  cleanups.push(() => ep.stop());
  const agent = await startAgent({ SHIPLOG_DATA_DIR: adata.dir, SHIPLOG_KAFKA_TOPIC_PREFIX: o.prefix, SHIPLOG_INCLUDE_LABELS: `${scope.label}=${scope.value}`, SHIPLOG_KAFKA_PARTITIONS: '2', ...o.agentEnv });
  cleanups.push(async () => void (await agent.stop()));
  const collector = await startCollector({ SHIPLOG_CLICKHOUSE_URL: ep.url, SHIPLOG_KAFKA_TOPIC_PREFIX: o.prefix, SHIPLOG_COLLECTOR_GROUP: o.group, ...o.collectorEnv });
  cleanups.push(async () => void (await collector.stop()));
  return { scope, agent, collector, ep };
}
