/**
 * `shiplog up`: agent and collector in one process on this host. The agent writes straight
 * into the embedded store (no Kafka), with the same guarantee (a checkpoint moves only after
 * the store committed). Setting SHIPLOG_KAFKA_BROKERS runs the Kafka path instead (agent to
 * Kafka, collector from Kafka, both here); SHIPLOG_CLICKHOUSE_URL uses a server for storage.
 */
import { killAtCall } from '../lib/faults.js';
import { Registry } from 'prom-client';
import { Agent } from '../agent/agent.js';
import { loadAgentConfig } from '../agent/config.js';
import { DockerClient } from '../agent/docker/client.js';
import { INPROC_TOPIC, StoreTransport } from './store-transport.js';
import { loadCollectorConfig } from '../collector/config.js';
import { build } from '../collector/http/app.js';
import { createCollectorMetrics } from '../collector/metrics.js';
import { CadvisorState, registerCadvisorMetrics } from '../collector/metrics/cadvisor.js';
import { rebuildContainerState } from '../collector/metrics/rebuild.js';
import { openStore } from '../collector/store/open-store.js';
import { DockerUnreachableError, describe, startupFailure } from '../lib/errors.js';
import type { Env } from '../lib/env-config.js';
import { checkCanListen, explainListenError } from '../lib/listen.js';
import { untilSignal } from '../lib/shutdown.js';
import { createLogger } from '../lib/logger.js';
import { startTracing } from '../lib/tracing.js';
import { registerProcessMetrics } from '../lib/process-metrics.js';

export async function runUp(env: Env): Promise<number> {
  const kafka = !!env.SHIPLOG_KAFKA_BROKERS;
  if (kafka) {
    // The distributed path, both halves in this process.
    const [{ runCollector }, { runAgent }] = await Promise.all([import('../collector/main.js'), import('../agent/main.js')]);
    // Both halves listen on loopback unless told otherwise, as in the embedded mode.
    const local = { ...env, SHIPLOG_HTTP_ADDRESS: env.SHIPLOG_HTTP_ADDRESS || '127.0.0.1', SHIPLOG_AGENT_ADDRESS: env.SHIPLOG_AGENT_ADDRESS || '127.0.0.1' };
    const api = `http://${local.SHIPLOG_HTTP_ADDRESS}:${env.SHIPLOG_HTTP_PORT || '9880'}`;
    process.stderr.write(
      `shiplog up: through Kafka at ${env.SHIPLOG_KAFKA_BROKERS} (agent and collector in this process), storing in ${env.SHIPLOG_CLICKHOUSE_URL ? 'the ClickHouse server' : 'the embedded ClickHouse'}\n` +
        `  logs     ${api}/api/v1/logs?since=15m\n  metrics  ${api}/metrics (collector), :${env.SHIPLOG_AGENT_PORT || '9881'}/metrics (agent)\n`,
    );
    // Only the collector prints its address (SHIPLOG_PRINT_ADDRESS): that is where the API is.
    // A half that ends on its own (it failed to start) ends the other too: a supervisor
    // restarts the process instead of it serving a half that does nothing.
    const ended = (half: string) => (code: number) => {
      if (code !== 0) {
        process.stderr.write(`shiplog up: the ${half} stopped (exit ${code}); stopping\n`);
        process.kill(process.pid, 'SIGTERM');
      }
      return code;
    };
    const results = await Promise.all([
      runCollector(local).then(ended('collector')),
      runAgent({ ...local, SHIPLOG_PRINT_ADDRESS: '', SHIPLOG_AGENT_PORT: env.SHIPLOG_AGENT_PORT ?? '9881' }).then(ended('agent')),
    ]);
    return Math.max(...results);
  }
  // Both schemas are validated before anything starts; Kafka is not needed here.
  // Each agent batch is one insert here: the 1 s linger makes a quiet host insert about once a
  // second (a full batch still goes at once), see bench/everyday.ts.
  const agentCfg = loadAgentConfig(env, { requireKafka: false });
  const colCfg = loadCollectorConfig({ ...env, SHIPLOG_KAFKA_BROKERS: '127.0.0.1:9' }, { httpAddress: '127.0.0.1' });
  const log = createLogger('shiplog', agentCfg.logLevel, agentCfg.logFormat);
  const tracing = await startTracing('shiplog', env, log);
  const registry = new Registry();
  registerProcessMetrics(registry, 'shiplog_process_');
  const containers = new CadvisorState(colCfg.containerTtlMs, colCfg.containerLabels);
  registerCadvisorMetrics(registry, containers);
  const probe = { storageUp: () => false };
  const metrics = createCollectorMetrics(registry, probe, [INPROC_TOPIC, `${INPROC_TOPIC}.stats`, `${INPROC_TOPIC}.events`], colCfg.containerTtlMs);
  const docker = new DockerClient(agentCfg.docker);
  try {
    await docker.negotiate();
  } catch (err) {
    if (err instanceof DockerUnreachableError) {
      process.stderr.write(`shiplog up: ${err.message}. ${err.advice}.\n`);
      return 1;
    }
    throw err;
  }
  // Before the data dir is opened and migrated: a port in use is said first, in one line.
  await checkCanListen(colCfg.http.address, colCfg.http.port, 'SHIPLOG_HTTP_PORT', 'SHIPLOG_HTTP_ADDRESS');
  let store;
  try {
    store = await openStore(colCfg, log.child({ part: 'store' }));
  } catch (err) {
    process.stderr.write(`shiplog up: ${startupFailure(err, agentCfg.dataDir)}\n`);
    return 1;
  }
  await rebuildContainerState(store, containers, colCfg.containerTtlMs);
  const transport = new StoreTransport(store, metrics, containers, log.child({ part: 'store' }), colCfg.faultUnstorableText, colCfg.faultStoreDownFile);
  probe.storageUp = () => transport.storageUp;
  const agent = new Agent({ config: agentCfg, docker, transport, registry, log, faults: { afterAck: killAtCall(agentCfg.faultKillAfterAcks) } });
  let agentRunning = false;
  const app = build({
    registry,
    store,
    apiToken: colCfg.api.token || undefined,
    limits: colCfg.api,
    log: log.child({ part: 'http' }),
    // Ready while the agent runs, reaches Docker and ships, and the store takes inserts.
    status: () => {
      const a = agent.status;
      return { consuming: agentRunning && a.docker === 'connected' && a.transport === 'ok', storage: transport.storageUp ? 'up' : 'down', storageKind: colCfg.storage.kind };
    },
  });
  let address: string;
  try {
    address = await app.listen({ host: colCfg.http.address, port: colCfg.http.port });
  } catch (err) {
    await store.close();
    throw explainListenError(err, colCfg.http.address, colCfg.http.port, 'SHIPLOG_HTTP_PORT', 'SHIPLOG_HTTP_ADDRESS');
  }
  if (env.SHIPLOG_PRINT_ADDRESS === '1') process.stdout.write(`listening ${address}\n`);
  try {
    await agent.start();
    agentRunning = true;
  } catch (err) {
    // E.g. the data dir is full or unwritable: exit so that a supervisor sees it, rather than serve a pipeline that ingests nothing.
    log.fatal({ err: describe(err) }, 'the agent failed to start');
    process.stderr.write(`shiplog up: the agent failed to start: ${startupFailure(err, agentCfg.dataDir)}\n`);
    await agent.stop(1000).catch(() => undefined);
    await app.close();
    await store.close();
    log.flush();
    return 1;
  }
  const where = colCfg.storage.kind === 'chdb' ? `embedded ClickHouse at ${colCfg.storage.path}` : new URL(colCfg.storage.url).host;
  const port = new URL(address).port;
  const next = `shiplog logs -f${port === '9880' ? '' : ` (with SHIPLOG_HTTP_PORT=${port})`}`;
  process.stderr.write(
    `shiplog up: ready, following the containers of ${agentCfg.docker.display}, storing in ${where}\n` +
      `  logs     ${address}/api/v1/logs?since=15m\n  metrics  ${address}/metrics\n  health   ${address}/healthz\n` +
      `  next     ${next}: every container's lines as they come (Ctrl-C stops)\n`,
  );
  return untilSignal(log, 'storing what is buffered', async () => {
    await app.close();
    await agent.stop(Math.max(100, colCfg.stopTimeoutMs - 1000));
    await store.close();
    await tracing.shutdown();
  }, colCfg.stopTimeoutMs);
}

