/**
 * dockerd restarts under the agent: the agent notices, reports it on /healthz, reconnects
 * with backoff, and follows containers started afterwards; nothing is shipped twice.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { startAgent, tempDir, type AgentProcess } from '../../helpers/agent-process.js';
import { TEST_IMAGE } from '../../helpers/docker.js';
import { sameLines, seqLines, streamOf } from '../../helpers/expect-lines.js';
import { linesByContainer, readTopic, waitFor } from '../../helpers/kafka-read.js';

const run = promisify(execFile);
const SCRIPT = resolve(import.meta.dirname, '../../env/docker.sh');
const dockerDir = mkdtempSync(join(tmpdir(), 'shiplog-own-dockerd-'));
const data = tempDir('shiplog-agent-');
let agent: AgentProcess | undefined;
let host = '';

const dockerd = async (cmd: 'start' | 'halt' | 'stop') => (await run('bash', [SCRIPT, cmd, dockerDir])).stdout.trim();
const dockerCli = async (args: string[]) => (await run('docker', args, { env: { ...process.env, DOCKER_HOST: host } })).stdout.trim();

afterAll(async () => {
  await agent?.stop();
  await dockerd('stop');
  data.cleanup();
});

async function health(): Promise<number> {
  return (await fetch(`${agent!.url}/healthz`)).status;
}

it('reconnects after dockerd restarts and keeps shipping exactly once', async () => {
  host = await dockerd('start');
  const prefix = `t-${randomUUID()}`;
  agent = await startAgent({ DOCKER_HOST: host, SHIPLOG_DATA_DIR: data.dir, SHIPLOG_KAFKA_TOPIC_PREFIX: prefix, SHIPLOG_KAFKA_PARTITIONS: '1' });
  const c1 = await dockerCli(['run', '-d', '--network', 'none', TEST_IMAGE, 'sh', '-c', "seq 1 3000 | sed 's/^/before-/'"]);
  await dockerCli(['wait', c1]);
  await waitFor(async () => (await agent!.metric('shiplog_agent_lines_shipped_total')) >= 3000, 30_000, 'lines before the restart');

  await dockerd('halt');
  await waitFor(async () => (await health()) === 503, 20_000, '/healthz to report Docker unreachable');
  await new Promise((r) => setTimeout(r, 2000));
  // The failed reconnection attempts are counted.
  expect(await agent.metric('shiplog_agent_docker_errors_total', { op: 'events' })).toBeGreaterThan(0);
  await dockerd('start');
  await waitFor(async () => (await health()) === 200, 60_000, 'the agent to reconnect');

  const c2 = await dockerCli(['run', '-d', '--network', 'none', TEST_IMAGE, 'sh', '-c', "seq 1 3000 | sed 's/^/after-/'"]);
  await dockerCli(['wait', c2]);
  await waitFor(async () => (await agent!.metric('shiplog_agent_lines_shipped_total')) >= 6000, 60_000, 'lines after the restart');
  await agent.stop();
  const by = linesByContainer(await readTopic(`${prefix}.logs`));
  sameLines(streamOf(by.get(c1)?.lines ?? [], 'stdout'), seqLines('before-', 1, 3000), 'container before the restart');
  sameLines(streamOf(by.get(c2)?.lines ?? [], 'stdout'), seqLines('after-', 1, 3000), 'container after the restart');
}, 240_000);
