/** Runs the built CLI (`node dist/cli/shiplog.js agent|collector`) as real child processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, inject } from 'vitest';
import { runCleanups } from './cleanup.js';
import { removeContainers, testScope } from './docker.js';

export const CLI = resolve(import.meta.dirname, '../../dist/cli/shiplog.js');

export interface AgentProcess {
  proc: ChildProcess;
  url: string;
  output: () => string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  metrics(): Promise<string>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  exited: Promise<number | null>;
}

/**
 * What an agent test file leaves behind, cleaned up after all of its tests (every step runs even
 * when one fails): the agents still running are stopped, the containers removed, then the rest.
 */
export function leftovers(): { agents: AgentProcess[]; created: string[]; cleanups: (() => void | Promise<void>)[] } {
  const left = { agents: [] as AgentProcess[], created: [] as string[], cleanups: [] as (() => void | Promise<void>)[] };
  afterAll(() =>
    // (Run last registered first.)
    runCleanups([
      ...left.cleanups,
      () => removeContainers(left.created),
      ...left.agents.map((a) => async () => {
        if (a.proc.exitCode === null && a.proc.signalCode === null) await a.stop();
      }),
    ]),
  );
  return left;
}

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // Retries: a process that was just stopped may still be closing files in it.
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }) };
}

/** `wrapper`: a command the agent is run under (e.g. `unshare --uts …`), its arguments before node's. */
export function startAgent(env: Record<string, string>, wrapper: string[] = []): Promise<AgentProcess> {
  return startShiplog('agent', { SHIPLOG_AGENT_PORT: '0', SHIPLOG_AGENT_ADDRESS: '127.0.0.1', ...env }, wrapper);
}

export function startCollector(env: Record<string, string>): Promise<AgentProcess> {
  // A short session: partitions of a killed collector move on within 15 s (shorter ones
  // starve heartbeats on a busy 2-core machine and get members kicked out).
  return startShiplog('collector', { SHIPLOG_HTTP_PORT: '0', SHIPLOG_HTTP_ADDRESS: '127.0.0.1', SHIPLOG_COLLECTOR_SESSION_TIMEOUT: '15s', ...env });
}

/** The built CLI as a child process on the test's dockerd and broker; `output()` is stdout and stderr as they came. */
function spawnShiplog(command: 'agent' | 'collector', env: Record<string, string>, wrapper: string[] = []) {
  const argv = [...wrapper, process.execPath, CLI, command];
  const proc = spawn(argv[0] as string, argv.slice(1), {
    env: {
      PATH: process.env.PATH,
      DOCKER_HOST: inject('dockerHost'),
      SHIPLOG_KAFKA_BROKERS: inject('kafkaBrokers'),
      SHIPLOG_PRINT_ADDRESS: '1',
      SHIPLOG_LOG_LEVEL: 'info',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return { proc, exited, output: () => out };
}

export async function startShiplog(command: 'agent' | 'collector', env: Record<string, string>, wrapper: string[] = []): Promise<AgentProcess> {
  const { proc, exited, output } = spawnShiplog(command, env, wrapper);
  const url = await new Promise<string>((resolveUrl, reject) => {
    const t = setTimeout(() => reject(new Error(`${command} did not start in 60 s:\n${output()}`)), 60_000);
    const check = () => {
      const m = /listening (http:\/\/\S+)/.exec(output());
      if (m) {
        clearTimeout(t);
        resolveUrl(m[1] as string);
      }
    };
    proc.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(t);
      reject(new Error(`${command} exited with ${code} before listening:\n${output()}`));
    });
  });
  const metrics = async () => (await fetch(`${url}/metrics`)).text();
  return {
    proc,
    url,
    output,
    exited,
    async stop() {
      proc.kill('SIGTERM');
      return exited;
    },
    async kill() {
      proc.kill('SIGKILL');
      await exited;
    },
    metrics,
    async metric(name, labels = {}) {
      const text = await metrics();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(name)) continue;
        const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
        if (!m || m[1] !== name) continue;
        const lbl = m[2] ?? '';
        if (Object.entries(labels).every(([k, v]) => lbl.includes(`${k}="${v}"`))) sum += Number(m[3]);
      }
      return sum;
    },
  };
}

/** Runs `shiplog agent` expecting it to stop by itself (a refused start-up): its exit code and output. */
export function runAgentToExit(env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; output: string }> {
  return runToExit('agent', { SHIPLOG_AGENT_PORT: '0', SHIPLOG_AGENT_ADDRESS: '127.0.0.1', ...env }, timeoutMs);
}

/** Runs `shiplog collector` expecting it to stop by itself: its exit code and output. */
export function runCollectorToExit(env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; output: string }> {
  return runToExit('collector', { SHIPLOG_HTTP_PORT: '0', SHIPLOG_HTTP_ADDRESS: '127.0.0.1', ...env }, timeoutMs);
}

async function runToExit(command: 'agent' | 'collector', env: Record<string, string>, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  const { proc, exited, output } = spawnShiplog(command, env);
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const code = await exited;
  clearTimeout(timer);
  return { code, output: output() };
}

/**
 * One test's agents: a label scope, a topic prefix and a data dir of their own, so agents
 * started one after another (restarts) share checkpoints and topic. Started agents are added to
 * `agents` and the data dir's removal to `cleanups`, for the file's afterAll.
 */
export function scopedAgents(env: Record<string, string>, agents: AgentProcess[], cleanups: (() => void | Promise<void>)[]) {
  const scope = testScope();
  const prefix = `t-${randomUUID()}`;
  const data = tempDir('shiplog-agent-');
  cleanups.push(data.cleanup);
  const base = { SHIPLOG_DATA_DIR: data.dir, SHIPLOG_KAFKA_TOPIC_PREFIX: prefix, SHIPLOG_INCLUDE_LABELS: `${scope.label}=${scope.value}`, SHIPLOG_KAFKA_PARTITIONS: '2', ...env };
  const start = async (more: Record<string, string> = {}, wrapper: string[] = []) => {
    const a = await startAgent({ ...base, ...more }, wrapper);
    agents.push(a);
    return a;
  };
  return { scope, topic: `${prefix}.logs`, start };
}
