/**
 * Credentials and TLS as a production cluster has them: the three-broker cluster's SASL_SSL
 * listeners (SCRAM, PLAIN) and mutual-TLS listeners, and a ClickHouse HTTP endpoint (chDB) that speaks
 * https only and wants a user and password. An agent and two collectors connect with the right
 * settings and store every line once; each wrong setting stops start-up with one line naming
 * it (exit 2), and the lines written meanwhile are not lost.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgentToExit, runCollectorToExit, startAgent, startCollector, tempDir } from '../../helpers/agent-process.js';
import { runCleanups } from '../../helpers/cleanup.js';
import { startCluster, type TestCluster } from '../../helpers/cluster.js';
import { removeContainers, runContainer, testScope, waitExit } from '../../helpers/docker.js';
import { waitFor } from '../../helpers/kafka-read.js';
import { startChdbEndpoint, type ChdbEndpoint } from '../../helpers/store.js';

const cleanups: (() => Promise<void> | void)[] = [];
let dir: ReturnType<typeof tempDir>;
let cluster: TestCluster;
let ep: ChdbEndpoint;
const STORE_USER = 'shiplog_writer';
const STORE_PASSWORD = `pw-${randomUUID()}`;

describe('a Kafka cluster with SCRAM and TLS, a ClickHouse endpoint with TLS and a password', () => {
  beforeAll(async () => {
    dir = tempDir('shiplog-secure-');
    cleanups.push(dir.cleanup);
    cluster = await startCluster(`${dir.dir}/kafka`);
    cleanups.push(() => cluster.stop());
    const t = cluster.tls;
    ep = await startChdbEndpoint(`${dir.dir}/store`, { tls: { cert: `${t}/server.pem`, key: `${t}/server.key`, ca: `${t}/ca.pem` }, user: STORE_USER, password: STORE_PASSWORD });
    cleanups.push(() => ep.stop());
  }, 240_000);

  afterAll(async () => {
    await runCleanups(cleanups);
  });

  it('wrong credentials and certificates stop start-up naming the setting; the right ones store every line once', async () => {
    expect(ep.url.startsWith('https://')).toBe(true);
    const t = cluster.tls;
    const prefix = `sec-${randomUUID().slice(0, 8)}`;
    const scope = testScope();
    const LINES = 3_000;
    // Written before any agent runs: the refused starts must not cost a line.
    const { id } = await runContainer({ script: `i=0; while [ $i -lt 30 ]; do seq $((i*100+1)) $((i*100+100)) | sed s/^/s-/; i=$((i+1)); sleep 0.1; done`, labels: scope.labels });
    cleanups.push(() => removeContainers([id]));

    const scram = { SHIPLOG_KAFKA_BROKERS: cluster.secure, SHIPLOG_KAFKA_TLS: 'true', SHIPLOG_KAFKA_TLS_CA: `${t}/ca.pem`, SHIPLOG_KAFKA_SASL_MECHANISM: 'scram-sha-512', SHIPLOG_KAFKA_SASL_USERNAME: cluster.user, SHIPLOG_KAFKA_SASL_PASSWORD: cluster.password };
    const agentEnv = { ...scram, SHIPLOG_KAFKA_TOPIC_PREFIX: prefix, SHIPLOG_DATA_DIR: `${dir.dir}/agent`, SHIPLOG_INCLUDE_LABELS: `${scope.label}=${scope.value}`, SHIPLOG_KAFKA_PARTITIONS: '2', SHIPLOG_KAFKA_REPLICATION_FACTOR: '3', SHIPLOG_KAFKA_MIN_INSYNC_REPLICAS: '2', SHIPLOG_STATS_INTERVAL: '0', SHIPLOG_BATCH_LINGER: '100ms' };

    // Kafka: a wrong password, a CA that did not sign the brokers' certificates, no TLS at all.
    // (SCRAM-SHA-256 here: the refusal comes out of that mechanism's exchange.)
    const badPassword = await runAgentToExit({ ...agentEnv, SHIPLOG_KAFKA_SASL_MECHANISM: 'scram-sha-256', SHIPLOG_KAFKA_SASL_PASSWORD: 'not-the-password' });
    expect(badPassword.code, badPassword.output).toBe(2);
    expect(badPassword.output).toMatch(/SHIPLOG_KAFKA_SASL_USERNAME\/SHIPLOG_KAFKA_SASL_PASSWORD: the brokers refused them/);
    const otherCa = await runAgentToExit({ ...agentEnv, SHIPLOG_KAFKA_TLS_CA: `${t}/other-ca.pem` });
    expect(otherCa.code, otherCa.output).toBe(2);
    expect(otherCa.output).toMatch(/SHIPLOG_KAFKA_TLS_CA: the brokers' certificate does not verify/);
    // A setting that cannot be used at all is refused before anything connects.
    const noTls = await runAgentToExit({ ...agentEnv, SHIPLOG_KAFKA_TLS: 'false' });
    expect(noTls.code).toBe(2);
    expect(noTls.output).toMatch(/SHIPLOG_KAFKA_TLS_CA: set, but SHIPLOG_KAFKA_TLS is not true/);
    // Nothing was sent with wrong settings.
    expect(badPassword.output + otherCa.output).not.toMatch(/agent running/);

    const agent = await startAgent(agentEnv);
    cleanups.push(async () => void (await agent.stop()));

    // The collectors: one over mutual TLS (client certificate), one over SASL PLAIN inside TLS;
    // both into the https endpoint with its user and password.
    const mtls = { SHIPLOG_KAFKA_BROKERS: cluster.mtls, SHIPLOG_KAFKA_TLS: 'true', SHIPLOG_KAFKA_TLS_CA: `${t}/ca.pem`, SHIPLOG_KAFKA_TLS_CERT: `${t}/client.pem`, SHIPLOG_KAFKA_TLS_KEY: `${t}/client.key` };
    const store = { SHIPLOG_CLICKHOUSE_URL: ep.url, SHIPLOG_CLICKHOUSE_TLS_CA: `${t}/ca.pem`, SHIPLOG_CLICKHOUSE_USER: STORE_USER, SHIPLOG_CLICKHOUSE_PASSWORD: STORE_PASSWORD };
    const collectorEnv = { SHIPLOG_KAFKA_TOPIC_PREFIX: prefix, SHIPLOG_COLLECTOR_GROUP: `g-${prefix}`, ...store };

    const otherCert = await runCollectorToExit({ ...collectorEnv, ...mtls, SHIPLOG_KAFKA_TLS_CERT: `${t}/other.pem`, SHIPLOG_KAFKA_TLS_KEY: `${t}/other.key` });
    expect(otherCert.code, otherCert.output).toBe(2);
    expect(otherCert.output).toMatch(/SHIPLOG_KAFKA_TLS_CERT: the brokers refused this client's certificate/);
    const wrongStorePassword = await runCollectorToExit({ ...collectorEnv, ...mtls, SHIPLOG_CLICKHOUSE_PASSWORD: 'wrong' });
    expect(wrongStorePassword.code, wrongStorePassword.output).toBe(2);
    expect(wrongStorePassword.output).toMatch(/SHIPLOG_CLICKHOUSE_USER\/SHIPLOG_CLICKHOUSE_PASSWORD .*: the server refused them/);
    // The password must not be printed, right or wrong.
    expect(wrongStorePassword.output).not.toContain(STORE_PASSWORD);
    const storeCaUnknown = await runCollectorToExit({ ...collectorEnv, ...mtls, SHIPLOG_CLICKHOUSE_TLS_CA: '' });
    expect(storeCaUnknown.code, storeCaUnknown.output).toBe(2);
    expect(storeCaUnknown.output).toMatch(/SHIPLOG_CLICKHOUSE_TLS_CA: the server's certificate does not verify/);

    const c1 = await startCollector({ ...collectorEnv, ...mtls });
    const c2 = await startCollector({ ...collectorEnv, ...scram, SHIPLOG_KAFKA_SASL_MECHANISM: 'plain' });
    cleanups.push(async () => void (await c1.stop()), async () => void (await c2.stop()));

    await waitExit(id);
    const count = async () => Number((await ep.query<{ n: string }>(`SELECT toString(count()) AS n FROM shiplog.otel_logs WHERE ContainerId = '${id}'`).catch(() => []))[0]?.n ?? 0);
    await waitFor(async () => (await count()) >= LINES, 120_000, 'every line stored');
    await new Promise((r) => setTimeout(r, 2_000));
    const rows = await ep.query<{ b: string }>(`SELECT Body AS b FROM shiplog.otel_logs WHERE ContainerId = '${id}' ORDER BY KafkaPartition, KafkaOffset, RecordLine`);
    expect(rows.map((r) => r.b)).toEqual(Array.from({ length: LINES }, (_, i) => `s-${i + 1}`));
    // Both collectors (one per partition in the group) are ready.
    for (const c of [c1, c2]) await waitFor(async () => (await fetch(`${c.url}/readyz`)).status === 200, 60_000, 'collector ready');
    expect(await agent.metric('shiplog_agent_lines_shipped_total')).toBe(LINES);
  });
});
