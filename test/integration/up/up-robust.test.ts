/**
 * `shiplog up` against the real dockerd and embedded store, fed what once stopped it: a poison
 * line (the store refuses its row) is set apart into the dead-letter table while the lines
 * before and after it are stored; an apostrophe in a JSON line and in a label (which once
 * halted all ingestion) is stored exactly; an agent half that cannot start makes the process
 * exit non-zero instead of reporting ready forever.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, inject } from 'vitest';
import { CLI, tempDir } from '../../helpers/agent-process.js';
import { runCleanups } from '../../helpers/cleanup.js';
import { removeContainers, runContainer, testScope, waitExit } from '../../helpers/docker.js';
import { waitFor } from '../../helpers/kafka-read.js';
import { logs, scopedUp, up } from '../../helpers/up-process.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  await runCleanups(cleanups);
});

describe('shiplog up under hostile input', () => {
  it('a poison line goes to the dead-letter table; the lines around it, JSON with apostrophes and odd labels are stored', async () => {
    const data = tempDir('shiplog-up-poison-');
    cleanups.push(data.cleanup);
    const scope = testScope();
    const u = await up({ SHIPLOG_DATA_DIR: data.dir, SHIPLOG_INCLUDE_LABELS: `${scope.label}=${scope.value}`, SHIPLOG_FAULT_UNSTORABLE_TEXT: 'POISON' });
    cleanups.push(async () => {
      u.proc.kill('SIGTERM');
      await u.exited;
    });
    const c = await runContainer({
      script: `seq 1 50 | sed 's/^/before-/'; echo 'x POISON y'; echo '{"level":"warn","msg":"can'"'"'t connect","path":"C:\\\\Windows"}'; seq 1 50 | sed 's/^/after-/'`,
      labels: { ...scope.labels, owner: "o'brien", 'quote"d': 'tab\there' },
    });
    cleanups.push(() => removeContainers([c.id]));
    await waitExit(c.id);
    await waitFor(async () => ((await logs(u, `container=${c.name}&q=after-50`)).body.data?.length ?? 0) === 1, 30_000, 'the last line stored');
    const all = (await logs(u, `container=${c.name}&order=oldest&limit=1000`)).body.data ?? [];
    const expected = [...Array.from({ length: 50 }, (_, i) => `before-${i + 1}`), '{"level":"warn","msg":"can\'t connect","path":"C:\\\\Windows"}', ...Array.from({ length: 50 }, (_, i) => `after-${i + 1}`)];
    expect(all.map((d) => d.message)).toEqual(expected);
    const json = all.find((d) => (d.message as string).startsWith('{')) as { level: string; attributes: Record<string, string> };
    expect(json.level).toBe('warn');
    expect(json.attributes).toMatchObject({ msg: "can't connect", path: 'C:\\Windows' });

    const dead = (await (await fetch(`${u.url}/api/v1/dead-letters`)).json()) as { data: { reason: string; record: string; source: string }[] };
    expect(dead.data).toHaveLength(1);
    expect(dead.data[0]).toMatchObject({ reason: 'unstorable', source: 'inproc' });
    const rec = JSON.parse(dead.data[0]?.record as string) as { lines: { msg: string }[]; container: { labels: Record<string, string> } };
    expect(rec.lines.map((l) => l.msg)).toEqual(['x POISON y']);
    expect(rec.container.labels.owner).toBe("o'brien");
    const metrics = await (await fetch(`${u.url}/metrics`)).text();
    expect(metrics).toMatch(/shiplog_collector_records_rejected_total\{topic="inproc",reason="unstorable"\} 1\b/);
    expect((await fetch(`${u.url}/readyz`)).status).toBe(200);
  });

  it('a catastrophic multiline pattern in a label does not freeze the process', async () => {
    const { u, scope } = await scopedUp(cleanups, 'shiplog-up-redos-');
    const evil = `${'a'.repeat(40)}!`;
    // A backtracking engine spends minutes on each of these lines against ^(a+)+$.
    const c = await runContainer({ script: `echo start; for i in 1 2 3 4 5; do echo ${evil}; done; echo aaaa`, labels: { ...scope.labels, 'shiplog.multiline': 'cont:^(a+)+$' } });
    cleanups.push(() => removeContainers([c.id]));
    await waitExit(c.id);
    await waitFor(async () => ((await logs(u, `container=${c.name}`)).body.data?.length ?? 0) >= 6, 30_000, 'the lines stored');
    const got = ((await logs(u, `container=${c.name}&order=oldest`)).body.data ?? []).map((d) => d.message);
    expect(got).toEqual(['start', evil, evil, evil, evil, `${evil}\naaaa`]);
    expect((await fetch(`${u.url}/healthz`)).status).toBe(200);
  });

  it('tells the truth while the store fails: /readyz 503, storage_up 0, checkpoint lag growing; then catches up', async () => {
    const data = tempDir('shiplog-up-down-');
    cleanups.push(data.cleanup);
    const scope = testScope();
    const down = join(data.dir, 'store-down');
    const u = await up({ SHIPLOG_DATA_DIR: data.dir, SHIPLOG_INCLUDE_LABELS: `${scope.label}=${scope.value}`, SHIPLOG_FAULT_STORE_DOWN_FILE: down });
    cleanups.push(async () => {
      u.proc.kill('SIGTERM');
      await u.exited;
    });
    await waitFor(async () => (await fetch(`${u.url}/readyz`)).status === 200, 30_000, 'ready');
    writeFileSync(down, '');
    const c = await runContainer({ script: 'echo while-down; sleep 60', labels: scope.labels });
    cleanups.push(() => removeContainers([c.id]));
    const metric = async (re: RegExp) => Number(re.exec(await (await fetch(`${u.url}/metrics`)).text())?.[1] ?? NaN);
    const lagRe = new RegExp(`^shiplog_agent_checkpoint_lag_seconds\\{container="${c.name}"\\} ([0-9.e+-]+)$`, 'm');
    await waitFor(async () => (await fetch(`${u.url}/readyz`)).status === 503, 30_000, '/readyz to say not ready');
    expect(await metric(/^shiplog_collector_storage_up ([0-9]+)$/m)).toBe(0);
    await waitFor(async () => (await metric(lagRe)) >= 2, 30_000, 'the checkpoint lag to grow');
    expect((await logs(u, `container=${c.name}`)).body.data).toEqual([]);
    rmSync(down);
    await waitFor(async () => ((await logs(u, `container=${c.name}`)).body.data?.length ?? 0) === 1, 60_000, 'the line stored once the store is back');
    await waitFor(async () => (await fetch(`${u.url}/readyz`)).status === 200, 30_000, 'ready again');
    expect(await metric(/^shiplog_collector_storage_up ([0-9]+)$/m)).toBe(1);
    expect(await metric(lagRe)).toBe(0);
  });

  it('exits non-zero when its agent half cannot start, instead of serving a pipeline that ingests nothing', async () => {
    const data = tempDir('shiplog-up-fail-');
    cleanups.push(data.cleanup);
    // The agent keeps its checkpoints in <data>/agent: a file there makes that impossible.
    mkdirSync(data.dir, { recursive: true });
    writeFileSync(join(data.dir, 'agent'), 'not a directory');
    const proc = spawn(process.execPath, [CLI, 'up'], {
      env: { PATH: process.env.PATH, DOCKER_HOST: inject('dockerHost'), SHIPLOG_HTTP_PORT: '0', SHIPLOG_DATA_DIR: data.dir, SHIPLOG_STATS_INTERVAL: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
    expect(code).not.toBe(0);
    expect(out).toMatch(/the agent failed to start/);
  });
});
