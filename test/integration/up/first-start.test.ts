/**
 * The first start of `shiplog up` on a host where a container has just crashed: its last
 * lines (SHIPLOG_BACKLOG, default the last hour) and its exit code are there, and the exit
 * code stays after `docker rm`. Real dockerd, embedded store.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runCleanups } from '../../helpers/cleanup.js';
import { docker, removeContainers, runContainer, testScope, waitExit } from '../../helpers/docker.js';
import { waitFor } from '../../helpers/kafka-read.js';
import { tempDir } from '../../helpers/agent-process.js';
import { logs, up } from '../../helpers/up-process.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  await runCleanups(cleanups);
});

interface Listed {
  name: string;
  state: string;
  exit_code?: number;
}

describe('shiplog up, first start', () => {
  it("shows a container that exited before it started: its last lines and exit code, kept after docker rm", async () => {
    const scope = testScope();
    const crashed = await runContainer({ script: "echo 'starting'; echo 'FATAL cannot open /data' >&2; exit 3", labels: scope.labels });
    cleanups.push(() => removeContainers([crashed.id]));
    expect(await waitExit(crashed.id)).toBe(3);
    const data = tempDir('shiplog-first-');
    cleanups.push(data.cleanup);
    const u = await up({ SHIPLOG_DATA_DIR: data.dir, SHIPLOG_INCLUDE_LABELS: `${scope.label}=${scope.value}` });
    cleanups.push(async () => {
      u.proc.kill('SIGTERM');
      await u.exited;
    });
    await waitFor(async () => ((await logs(u, `container=${crashed.name}`)).body.data?.length ?? 0) === 2, 30_000, 'its lines stored');
    // (Docker stamps each stream when it reads it: under load stderr may come first.)
    expect(((await logs(u, `container=${crashed.name}&order=oldest`)).body.data ?? []).map((l) => `${l.stream as string}: ${l.message as string}`).sort()).toEqual([
      'stderr: FATAL cannot open /data',
      'stdout: starting',
    ]);
    const listed = async () => ((await (await fetch(`${u.url}/api/v1/containers?container=${crashed.name}`)).json()) as { data: Listed[] }).data[0];
    await waitFor(async () => (await listed())?.state === 'exited', 30_000, 'the container listed as exited');
    expect(await listed()).toMatchObject({ name: crashed.name, state: 'exited', exit_code: 3 });
    await docker(['rm', crashed.id]);
    await waitFor(async () => (await listed())?.state === 'removed', 30_000, 'the container listed as removed');
    expect(await listed()).toMatchObject({ state: 'removed', exit_code: 3 });
  });

  it('a container that exits while shiplog up is stopped is listed as exited, with its exit code, after the restart', async () => {
    const scope = testScope();
    const data = tempDir('shiplog-down-');
    cleanups.push(data.cleanup);
    const env = { SHIPLOG_DATA_DIR: data.dir, SHIPLOG_INCLUDE_LABELS: `${scope.label}=${scope.value}` };
    let u = await up(env);
    const c = await runContainer({ script: 'echo hi; while [ ! -f /tmp/go ]; do sleep 0.2; done; exit 4', labels: scope.labels });
    cleanups.push(() => removeContainers([c.id]));
    await waitFor(async () => ((await logs(u, `container=${c.name}`)).body.data?.length ?? 0) === 1, 30_000, 'its line stored');
    u.proc.kill('SIGTERM');
    await u.exited;
    // It ends while nothing watches: its die event is never seen.
    await docker(['exec', c.id, 'touch', '/tmp/go']);
    expect(await waitExit(c.id)).toBe(4);
    u = await up(env);
    const again = u;
    cleanups.push(async () => {
      again.proc.kill('SIGTERM');
      await again.exited;
    });
    const listed = async () => ((await (await fetch(`${u.url}/api/v1/containers?container=${c.name}`)).json()) as { data: Listed[] }).data[0];
    await waitFor(async () => (await listed())?.state === 'exited', 30_000, 'the container listed as exited');
    expect(await listed()).toMatchObject({ state: 'exited', exit_code: 4 });
  });
});
