/**
 * The agent on Podman's Docker-compatible API (Debian's podman 4.3, rootful, its own storage:
 * test/env/podman.sh), the way a Podman host runs it: DOCKER_HOST at Podman's socket. It ships
 * a container's lines in order (a line written in pieces as one), its stats and its exit (die
 * with the exit code), and
 * reads the logs through the API: Podman's log files are not Docker's json-file, though Podman
 * names the driver so.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord, StatsRecord } from '../../../lib/records.js';
import { leftovers, scopedAgents, tempDir } from '../../helpers/agent-process.js';
import { linesByContainer, readTopic, waitFor } from '../../helpers/kafka-read.js';

const run = promisify(execFile);
const PODMAN = resolve(import.meta.dirname, '../../env/podman.sh');
const { agents, cleanups } = leftovers();
const dir = tempDir('shiplog-podman-');
let socket = '';

/** podman with the test engine's storage; lowered rlimits (see podman.sh). */
const podman = async (...args: string[]) => (await run('bash', [PODMAN, 'cli', dir.dir, ...args])).stdout.trim();
const LIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1000:1000'];

beforeAll(async () => {
  socket = (await run('bash', [PODMAN, 'start', dir.dir], { timeout: 120_000 })).stdout.trim();
}, 180_000);

afterAll(async () => {
  await run('bash', [PODMAN, 'stop', dir.dir]).catch(() => undefined);
  dir.cleanup();
});

describe('Podman (Docker-compatible API)', () => {
  it('ships logs in order (pieces joined), stats and die with the exit code; reads logs through the API', async () => {
    expect(socket).toMatch(/^unix:\/\/.*podman\.sock$/);
    const t = scopedAgents({ DOCKER_HOST: socket, SHIPLOG_STATS_INTERVAL: '1s', SHIPLOG_BACKLOG: 'all' }, agents, cleanups);
    const agent = await t.start();
    const prefix = t.topic.replace(/\.logs$/, '');
    const id = await podman('run', '-d', '--network', 'none', ...LIMITS, '--label', `${t.scope.label}=${t.scope.value}`, '--name', `pm-${t.scope.value.slice(0, 8)}`,
      // A line written in two pieces (Podman keeps each write as a piece): still one line.
      'localhost/shiplog-test/busybox:latest', 'sh', '-c', 'seq 1 500 | sed s/^/podman-line-/ ; echo to-stderr >&2; printf two-; sleep 1; printf "writes\\n"; sleep 2; exit 3');
    cleanups.push(async () => void (await podman('rm', '-f', id).catch(() => '')));
    await waitFor(async () => (linesByContainer(await readTopic(t.topic)).get(id)?.lines.length ?? 0) >= 502, 90_000, "the Podman container's lines in Kafka").catch((err) => {
      console.log(agent.output().slice(-3000));
      throw err;
    });
    const shipped = linesByContainer(await readTopic(t.topic)).get(id);
    const out = shipped?.lines.filter((l) => l.stream === 'stdout').map((l) => l.bytes.toString());
    // (seq | sed writes in pipe-sized pieces: lines cut between two writes come whole too.)
    expect(out).toEqual([...Array.from({ length: 500 }, (_, i) => `podman-line-${i + 1}`), 'two-writes']);
    expect(shipped?.lines.filter((l) => l.stream === 'stderr').map((l) => l.bytes.toString())).toEqual(['to-stderr']);
    expect(agent.output()).toContain('reading container logs through the Engine API');

    await waitFor(async () => (await readTopic(`${prefix}.events`)).some((m) => (JSON.parse(m.value.toString()) as EventRecord).action === 'die'), 60_000, 'the die event');
    const events = (await readTopic(`${prefix}.events`)).map((m) => JSON.parse(m.value.toString()) as EventRecord).filter((e) => e.container.id === id);
    expect(events.find((e) => e.action === 'die')?.exit_code).toBe(3);

    const stats = (await readTopic(`${prefix}.stats`)).map((m) => JSON.parse(m.value.toString()) as StatsRecord).filter((s) => s.container.id === id);
    expect(stats.length).toBeGreaterThan(0);
    expect(stats[0]?.memory.usage).toBeGreaterThan(0);
    expect(stats[0]?.container.name).toBe(`pm-${t.scope.value.slice(0, 8)}`);
  }, 180_000);
});
