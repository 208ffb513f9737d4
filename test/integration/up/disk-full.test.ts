/**
 * `shiplog up` on a full disk: one line saying so and what to do, exit 1; once space is free
 * the same data dir opens (a first start that ran out of disk left empty table definitions the
 * engine would refuse for ever). A real small filesystem (tmpfs), real chDB and dockerd.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { CLI } from '../../helpers/agent-process.js';
import { runCleanups } from '../../helpers/cleanup.js';
import { waitFor } from '../../helpers/kafka-read.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  await runCleanups(cleanups);
});

/** A 4 MiB filesystem of our own, or undefined where mounting is not allowed. */
function smallDisk(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'shiplog-full-'));
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir]).status !== 0) return undefined;
  cleanups.push(() => {
    spawnSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

function up(dataDir: string, onOutput?: (s: string) => void): Promise<{ code: number | null; out: string }> & { kill: () => void } {
  const p = spawn(process.execPath, [CLI, 'up'], {
    env: { PATH: process.env.PATH, DOCKER_HOST: inject('dockerHost'), SHIPLOG_DATA_DIR: dataDir, SHIPLOG_HTTP_PORT: '0', SHIPLOG_INCLUDE_LABELS: 'shiplog.test=none' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const take = (d: Buffer) => {
    out += d.toString();
    onOutput?.(out);
  };
  p.stdout?.on('data', take);
  p.stderr?.on('data', take);
  const done = new Promise<{ code: number | null; out: string }>((resolve) => p.on('close', (code) => resolve({ code, out })));
  return Object.assign(done, { kill: () => void p.kill('SIGTERM') });
}

const disk = smallDisk();

describe('shiplog up on a full disk', () => {
  it.runIf(disk !== undefined)('says the disk is full and what to do; starts once space is free', async () => {
    const root = disk as string;
    const data = join(root, 'data');
    // Every block taken (files can still be created, not written): the engine gets as far as
    // creating its table definitions and cannot write them.
    try {
      writeFileSync(join(root, 'fill'), Buffer.alloc(5 * 1024 * 1024));
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    const full = await up(data);
    expect(full.code).toBe(1);
    expect(full.out).toContain(`shiplog up: the disk holding SHIPLOG_DATA_DIR (${data}) is full: free some space there or point SHIPLOG_DATA_DIR elsewhere`);
    rmSync(join(root, 'fill'));
    let ready = false;
    const again = up(data, (out) => (ready = out.includes('shiplog up: ready')));
    cleanups.push(again.kill);
    await waitFor(() => ready, 60_000, 'shiplog up to start once space is free');
    again.kill();
    expect((await again).code).toBe(0);
  });
});
