/** Runs `shiplog up` as a user would (a process, real dockerd, embedded store) for the tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { inject } from 'vitest';
import { CLI, tempDir } from './agent-process.js';
import { testScope } from './docker.js';
import { waitFor } from './kafka-read.js';

export interface Up {
  proc: ChildProcess;
  url: string;
  exited: Promise<unknown>;
  output: () => string;
}

export async function up(env: Record<string, string>): Promise<Up> {
  const proc = spawn(process.execPath, [CLI, 'up'], {
    env: { PATH: process.env.PATH, DOCKER_HOST: inject('dockerHost'), SHIPLOG_HTTP_PORT: '0', SHIPLOG_HTTP_ADDRESS: '127.0.0.1', SHIPLOG_PRINT_ADDRESS: '1', SHIPLOG_STATS_INTERVAL: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((r) => proc.on('exit', r));
  await waitFor(() => /listening (\S+)/.test(out) && out.includes('shiplog up: '), 60_000, 'shiplog up to start');
  return { proc, url: (/listening (\S+)/.exec(out) as RegExpExecArray)[1] as string, exited, output: () => out };
}

export async function logs(u: Up, query: string): Promise<{ status: number; body: { data?: Record<string, unknown>[]; message?: string } }> {
  const r = await fetch(`${u.url}/api/v1/logs?${query}`);
  return { status: r.status, body: (await r.json()) as { data?: Record<string, unknown>[] } };
}


/**
 * `shiplog up` on a fresh data dir, following only containers with a new test label; the
 * process and the dir are removed by `cleanups`.
 */
export async function scopedUp(cleanups: (() => Promise<void> | void)[], prefix: string, env: Record<string, string> = {}): Promise<{ u: Up; scope: ReturnType<typeof testScope> }> {
  const data = tempDir(prefix);
  cleanups.push(data.cleanup);
  const scope = testScope();
  const u = await up({ SHIPLOG_DATA_DIR: data.dir, SHIPLOG_INCLUDE_LABELS: `${scope.label}=${scope.value}`, ...env });
  cleanups.push(async () => {
    u.proc.kill('SIGTERM');
    await u.exited;
  });
  return { u, scope };
}

/**
 * `shiplog up` through Kafka (SHIPLOG_KAFKA_BROKERS: agent and collector in one process) on a
 * fresh data dir, topics under `prefix`, following only containers with the scope's label.
 */
export async function kafkaUp(cleanups: (() => Promise<void> | void)[], scope: ReturnType<typeof testScope>, prefix: string): Promise<Up> {
  const data = tempDir('shiplog-up-kafka-');
  cleanups.push(data.cleanup);
  const u = await up({
    SHIPLOG_DATA_DIR: data.dir,
    SHIPLOG_INCLUDE_LABELS: `${scope.label}=${scope.value}`,
    SHIPLOG_KAFKA_BROKERS: inject('kafkaBrokers'),
    SHIPLOG_KAFKA_TOPIC_PREFIX: prefix,
    SHIPLOG_COLLECTOR_GROUP: `g-${prefix}`,
    SHIPLOG_COLLECTOR_BATCH_WAIT: '100ms',
    SHIPLOG_AGENT_PORT: '0',
    SHIPLOG_AGENT_ADDRESS: '127.0.0.1',
    KAFKAJS_NO_PARTITIONER_WARNING: '1',
  });
  cleanups.push(async () => {
    u.proc.kill('SIGTERM');
    await u.exited;
  });
  return u;
}
