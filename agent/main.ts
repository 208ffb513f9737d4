/** `shiplog agent`: config, Docker client, Kafka transport, agent, HTTP; stops cleanly on SIGTERM/SIGINT. */
import { killAtCall } from '../lib/faults.js';
import { Counter, Registry } from 'prom-client';
import { registerProcessMetrics } from '../lib/process-metrics.js';
import { ConfigError, DockerUnreachableError, describe } from '../lib/errors.js';
import { untilSignal } from '../lib/shutdown.js';
import { createLogger } from '../lib/logger.js';
import { startTracing } from '../lib/tracing.js';
import type { Env } from '../lib/env-config.js';
import { Agent } from './agent.js';
import { loadAgentConfig } from './config.js';
import { DockerClient } from './docker/client.js';
import { explainListenError } from '../lib/listen.js';
import { buildAgentHttp } from './http/server.js';
import { KafkaTransport } from './ship/kafka-transport.js';

export async function runAgent(env: Env): Promise<number> {
  const config = loadAgentConfig(env, { requireKafka: true });
  const log = createLogger('shiplog-agent', config.logLevel, config.logFormat);
  const tracing = await startTracing('shiplog-agent', env, log);
  const registry = new Registry();
  registerProcessMetrics(registry, 'shiplog_agent_process_');
  const docker = new DockerClient(config.docker);
  const transport = new KafkaTransport(
    {
      brokers: config.kafka.brokers,
      topic: `${config.kafka.topicPrefix}.logs`,
      statsTopic: `${config.kafka.topicPrefix}.stats`,
      eventsTopic: `${config.kafka.topicPrefix}.events`,
      compression: config.kafka.compression,
      gzipLevel: config.kafka.gzipLevel,
      partitions: config.kafka.partitions,
      replicationFactor: config.kafka.replicationFactor,
      minInsyncReplicas: config.kafka.minInsyncReplicas,
      maxMessageBytes: config.kafka.maxMessageBytes,
      security: config.kafka.security,
    },
    log.child({ part: 'kafka' }),
  );
  // Found in a cluster: kafkajs 2.2.4 can report a batch sent without an answer for some of its
  // partitions (kafka-transport.ts, sendChecked); each such send is made again and counted.
  new Counter({
    name: 'shiplog_agent_kafka_unanswered_resends_total',
    help: 'Sends the Kafka client reported done without an answer for some partitions (seen when a broker fails); those records were sent again.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(transport.unansweredResends);
    },
  });
  const agent = new Agent({ config, docker, transport, registry, log, faults: { afterAck: killAtCall(config.faultKillAfterAcks) } });
  // Listen first: /metrics and /healthz answer while the agent waits for Kafka.
  const app = buildAgentHttp({ registry, status: () => agent.status });
  let address: string;
  try {
    address = await app.listen({ host: config.http.address, port: config.http.port });
  } catch (err) {
    throw explainListenError(err, config.http.address, config.http.port, 'SHIPLOG_AGENT_PORT', 'SHIPLOG_AGENT_ADDRESS');
  }
  // For tests and supervisors that start the agent on port 0.
  if (env.SHIPLOG_PRINT_ADDRESS === '1') process.stdout.write(`listening ${address}\n`);
  try {
    await agent.start();
  } catch (err) {
    if (err instanceof DockerUnreachableError) {
      log.fatal(`${err.message}. ${err.advice}.`);
    } else if (!(err instanceof ConfigError)) log.fatal({ err: describe(err) }, 'agent failed to start');
    await transport.stop().catch(() => undefined);
    await app.close();
    await tracing.shutdown();
    log.flush();
    // A setting to change: said in one line naming it, as a bad setting at start-up is.
    if (err instanceof ConfigError) throw err;
    return 1;
  }
  log.info({ metrics: `${address}/metrics`, host: config.host, brokers: config.kafka.brokers.join(','), topic: `${config.kafka.topicPrefix}.logs` }, 'agent running');

  return untilSignal(
    log,
    'shipping what is buffered',
    async () => {
      await app.close();
      await agent.stop(Math.max(100, config.stopTimeoutMs - 1000));
      await tracing.shutdown();
    },
    config.stopTimeoutMs,
  );
}
