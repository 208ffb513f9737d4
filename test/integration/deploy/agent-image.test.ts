/**
 * deploy/Dockerfile's agent target builds on the test dockerd and the image runs as a
 * container against it, as an unprivileged user with the Docker socket mounted read-only,
 * shipping a container's logs to Kafka; its healthcheck reports healthy. The collector-server
 * target (no embedded engine) refuses to start without a ClickHouse server, naming the setting,
 * and with one stores what an agent shipped.
 *
 * No image can be pulled here, so the two inputs the Dockerfile would pull or download are
 * made locally (test/env/image-parts.sh): NODE_IMAGE from this machine's Node runtime, and
 * the compiled app (APP) from this checkout. The Dockerfile's own steps run as written.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { tempDir } from '../../helpers/agent-process.js';
import { runCleanups } from '../../helpers/cleanup.js';
import { docker, dockerEnv, removeContainers, runContainer, testScope } from '../../helpers/docker.js';
import { linesByContainer, readTopic, waitFor } from '../../helpers/kafka-read.js';
import { freePorts } from '../../helpers/ports.js';
import { startChdbEndpoint } from '../../helpers/store.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  await runCleanups(cleanups);
});

/** Builds a target of deploy/Dockerfile from local inputs (no pulls here); its tag. */
async function buildTarget(target: string): Promise<string> {
  // The classic builder: Debian's docker CLI has no buildx for BuildKit.
  const env = { ...dockerEnv(), DOCKER_BUILDKIT: '0' };
  const parts = resolve(ROOT, 'test/env/image-parts.sh');
  await run('bash', [parts, 'node-runtime', 'shiplog-test/node-runtime:latest'], { env });
  await run('bash', [parts, 'app', 'shiplog-test/app:latest'], { env, maxBuffer: 1 << 26 });
  const tag = `shiplog-test/${target}:latest`;
  await run('docker', ['build', '-f', 'deploy/Dockerfile', '--target', target, '--build-arg', 'NODE_IMAGE=shiplog-test/node-runtime:latest', '--build-arg', 'APP=shiplog-test/app:latest', '-t', tag, '.'], { cwd: ROOT, env, maxBuffer: 1 << 26 });
  return tag;
}

describe('agent image', () => {
  it('builds from deploy/Dockerfile, ships logs as non-root through the API, and from the files as capability-less root', async () => {
    const env = { ...dockerEnv(), DOCKER_BUILDKIT: '0' };
    const tag = await buildTarget('agent');
    const config = JSON.parse(await docker(['image', 'inspect', '--format', '{{json .Config}}', tag])) as { User: string; Healthcheck?: { Test: string[] }; Entrypoint: string[] };
    expect(config.User).toBe('node');
    expect(config.Healthcheck?.Test.join(' ')).toContain('/healthz');
    // The agent image has no embedded engine.
    expect(await docker(['run', '--rm', '--network', 'none', '--entrypoint', 'sh', tag, '-c', 'ls /app/node_modules /app/node_modules/@* | grep -c chdb || true'])).toBe('0');

    const sock = (inject('dockerHost') ?? '').replace(/^unix:\/\//, '');
    const gid = (await run('stat', ['-c', '%g', sock])).stdout.trim();
    const scope = testScope();
    const prefix = `img-${scope.value.slice(0, 8)}`;
    const data = tempDir('shiplog-img-');
    cleanups.push(data.cleanup);
    // Host network: the broker listens on this machine's loopback (no bridge here).
    const agentId = await docker([
      'run', '-d', '--network', 'host', '--name', `agent-${scope.value.slice(0, 8)}`,
      '-v', `${sock}:/var/run/docker.sock:ro`, '--group-add', gid,
      '--health-interval', '2s', '--health-start-period', '5s',
      '-e', `SHIPLOG_KAFKA_BROKERS=${inject('kafkaBrokers')}`, '-e', `SHIPLOG_KAFKA_TOPIC_PREFIX=${prefix}`,
      '-e', `SHIPLOG_INCLUDE_LABELS=${scope.label}=${scope.value}`, '-e', 'SHIPLOG_AGENT_ADDRESS=127.0.0.1', '-e', `SHIPLOG_AGENT_PORT=${await freePorts()}`,
      '-e', 'SHIPLOG_STATS_INTERVAL=0', '-e', 'KAFKAJS_NO_PARTITIONER_WARNING=1',
      tag,
    ]);
    cleanups.push(() => removeContainers([agentId]));
    await waitFor(async () => (await docker(['inspect', '--format', '{{.State.Health.Status}}', agentId]).catch(() => '')) === 'healthy', 90_000, 'the agent container to be healthy').catch(async (err) => {
      console.log(await docker(['logs', '--tail', '50', agentId]).catch(() => ''));
      throw err;
    });
    expect(await docker(['exec', agentId, 'id', '-u'])).toBe('1000');
    const c = await runContainer({ script: "seq 1 300 | sed 's/^/from-image-/'", labels: scope.labels });
    cleanups.push(() => removeContainers([c.id]));
    await waitFor(async () => (linesByContainer(await readTopic(`${prefix}.logs`)).get(c.id)?.lines.length ?? 0) >= 300, 60_000, 'the lines in Kafka');
    const lines = linesByContainer(await readTopic(`${prefix}.logs`)).get(c.id)?.lines.map((l) => l.bytes.toString());
    expect(lines).toEqual(Array.from({ length: 300 }, (_, i) => `from-image-${i + 1}`));
    // As `node` it cannot read Docker's root-only log files: auto read them through the API.
    // (Both streams: the agent logs to stderr.)
    const logsOf = async (container: string) => {
      const r = await run('docker', ['logs', container], { env, maxBuffer: 1 << 26 });
      return r.stdout + r.stderr;
    };
    expect(await logsOf(agentId)).toContain('reading container logs through the Engine API (SHIPLOG_DOCKER_LOGS=auto)');
    await docker(['rm', '-f', agentId]);

    // The way compose.yml runs it: root with every capability dropped, read-only, the log
    // folder mounted read-only at the engine's own path: it reads the files.
    const root = await docker(['info', '--format', '{{.DockerRootDir}}']);
    const filesPrefix = `${prefix}-files`;
    const filesAgent = await docker([
      'run', '-d', '--network', 'host', '--name', `agent-files-${scope.value.slice(0, 8)}`,
      '--user', '0:0', '--cap-drop', 'ALL', '--read-only', '--security-opt', 'no-new-privileges:true',
      '-v', `${sock}:/var/run/docker.sock:ro`, '-v', `${root}/containers:${root}/containers:ro`,
      '-e', `SHIPLOG_KAFKA_BROKERS=${inject('kafkaBrokers')}`, '-e', `SHIPLOG_KAFKA_TOPIC_PREFIX=${filesPrefix}`,
      '-e', `SHIPLOG_INCLUDE_LABELS=${scope.label}=${scope.value}`, '-e', 'SHIPLOG_AGENT_ADDRESS=127.0.0.1', '-e', `SHIPLOG_AGENT_PORT=${await freePorts()}`,
      '-e', 'SHIPLOG_STATS_INTERVAL=0', '-e', 'KAFKAJS_NO_PARTITIONER_WARNING=1', '-e', 'SHIPLOG_DOCKER_LOGS=files',
      tag,
    ]);
    cleanups.push(() => removeContainers([filesAgent]));
    await waitFor(async () => (linesByContainer(await readTopic(`${filesPrefix}.logs`)).get(c.id)?.lines.length ?? 0) >= 300, 90_000, 'the lines in Kafka, read from the file').catch(async (err) => {
      console.log(await logsOf(filesAgent).catch(() => ''));
      throw err;
    });
    expect(await logsOf(filesAgent)).toContain('reading json-file container logs from their files');
    const fromFile = linesByContainer(await readTopic(`${filesPrefix}.logs`)).get(c.id)?.lines.map((l) => l.bytes.toString());
    expect(fromFile).toEqual(lines);
  });

  it('collector-server: no embedded engine; without SHIPLOG_CLICKHOUSE_URL it says so, with a server it stores the lines', async () => {
    const env = { ...dockerEnv(), DOCKER_BUILDKIT: '0' };
    const tag = await buildTarget('collector-server');
    expect(await docker(['run', '--rm', '--network', 'none', '--entrypoint', 'sh', tag, '-c', 'ls /app/node_modules /app/node_modules/@* | grep -c chdb || true'])).toBe('0');
    const size = Number(await docker(['image', 'inspect', '--format', '{{.Size}}', tag]));
    console.log(`collector-server image: ${(size / 2 ** 20).toFixed(0)} MiB`);
    expect(size).toBeLessThan(250 * 2 ** 20);

    const refused = await run('docker', ['run', '--rm', '--network', 'none', '-e', 'SHIPLOG_KAFKA_BROKERS=127.0.0.1:1', '-e', 'SHIPLOG_API_ALLOW_OPEN=true', tag], { env, timeout: 60_000 }).then(
      () => ({ code: 0, text: '' }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, text: `${e.stdout}${e.stderr}` }),
    );
    expect(refused.code).not.toBe(0);
    expect(refused.text).toContain('SHIPLOG_CLICKHOUSE_URL');
    expect(refused.text).toContain('no embedded engine');

    // With a ClickHouse server (the HTTP endpoint over chDB the server-backend tests use) it stores what an agent ships.
    const data = tempDir('shiplog-cs-');
    cleanups.push(data.cleanup);
    const ep = await startChdbEndpoint(data.dir);
    cleanups.push(() => ep.stop());
    const scope = testScope();
    const prefix = `cs-${scope.value.slice(0, 8)}`;
    const port = await freePorts();
    const collectorId = await docker([
      'run', '-d', '--network', 'host', '--health-interval', '2s', '--health-start-period', '5s',
      '-e', `SHIPLOG_KAFKA_BROKERS=${inject('kafkaBrokers')}`, '-e', `SHIPLOG_KAFKA_TOPIC_PREFIX=${prefix}`, '-e', `SHIPLOG_COLLECTOR_GROUP=${prefix}`,
      '-e', `SHIPLOG_CLICKHOUSE_URL=${ep.url}`, '-e', 'SHIPLOG_HTTP_ADDRESS=127.0.0.1', '-e', `SHIPLOG_HTTP_PORT=${port}`, '-e', 'SHIPLOG_API_ALLOW_OPEN=true',
      '-e', 'KAFKAJS_NO_PARTITIONER_WARNING=1',
      tag,
    ]);
    cleanups.push(() => removeContainers([collectorId]));
    // Up (its topics appear when the agent below creates them; then it turns ready).
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200, 90_000, 'the collector-server container to answer').catch(async (err) => {
      console.log(await docker(['logs', '--tail', '50', collectorId]).catch(() => ''));
      throw err;
    });
    const sock = (inject('dockerHost') ?? '').replace(/^unix:\/\//, '');
    const gid = (await run('stat', ['-c', '%g', sock])).stdout.trim();
    const agentId = await docker([
      'run', '-d', '--network', 'host', '-v', `${sock}:/var/run/docker.sock:ro`, '--group-add', gid,
      '-e', `SHIPLOG_KAFKA_BROKERS=${inject('kafkaBrokers')}`, '-e', `SHIPLOG_KAFKA_TOPIC_PREFIX=${prefix}`,
      '-e', `SHIPLOG_INCLUDE_LABELS=${scope.label}=${scope.value}`, '-e', 'SHIPLOG_AGENT_ADDRESS=127.0.0.1', '-e', `SHIPLOG_AGENT_PORT=${await freePorts()}`,
      '-e', 'SHIPLOG_STATS_INTERVAL=0', '-e', 'KAFKAJS_NO_PARTITIONER_WARNING=1',
      'shiplog-test/agent:latest',
    ]);
    cleanups.push(() => removeContainers([agentId]));
    const c = await runContainer({ script: "seq 1 200 | sed 's/^/to-server-/'", labels: scope.labels });
    cleanups.push(() => removeContainers([c.id]));
    await waitFor(async () => Number((await ep.query<{ n: string }>(`SELECT toString(count()) AS n FROM shiplog.otel_logs WHERE ContainerId = '${c.id}'`).catch(() => []))[0]?.n) >= 200, 120_000, 'the lines stored through the collector-server image').catch(async (err) => {
      console.log(await docker(['logs', '--tail', '50', collectorId]).catch(() => ''));
      throw err;
    });
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    const rows = await ep.query<{ b: string }>(`SELECT Body AS b FROM shiplog.otel_logs WHERE ContainerId = '${c.id}' ORDER BY Timestamp, KafkaOffset, RecordLine`);
    expect(rows.map((r) => r.b)).toEqual(Array.from({ length: 200 }, (_, i) => `to-server-${i + 1}`));
  });
});
