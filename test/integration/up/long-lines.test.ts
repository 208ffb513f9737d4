/**
 * A line longer than SHIPLOG_MAX_LINE_BYTES is stored as parts and comes back as one line,
 * byte for byte: through the API in both orders and one line per page, and through
 * `shiplog logs --raw`. 3,000,000 bytes of 日 (three bytes each) in 64 KiB parts: Docker's
 * 16 KiB pieces cut characters; the agent ends each part at a character boundary all the same.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI } from '../../helpers/agent-process.js';
import { runCleanups } from '../../helpers/cleanup.js';
import { removeContainers, runContainer, waitExit } from '../../helpers/docker.js';
import { waitFor } from '../../helpers/kafka-read.js';
import { logs, scopedUp, type Up } from '../../helpers/up-process.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  await runCleanups(cleanups);
});

interface ApiLine {
  message: string;
  message_base64?: string;
  attributes: Record<string, string>;
}

async function allPages(u: Up, name: string, order: 'oldest' | 'newest'): Promise<ApiLine[][]> {
  const pages: ApiLine[][] = [];
  let cursor: string | undefined;
  do {
    const r = (await (await fetch(`${u.url}/api/v1/logs?container=${name}&order=${order}&limit=1${cursor ? `&cursor=${cursor}` : ''}`)).json()) as { data: ApiLine[]; next_cursor: string | null };
    pages.push(r.data);
    cursor = r.next_cursor ?? undefined;
  } while (cursor);
  return pages;
}

describe('long lines', () => {
  it('a 3,000,000-byte multi-byte line stored in 64 KiB parts comes back as one line, byte-exact, in both orders and across pages', async () => {
    const { u, scope } = await scopedUp(cleanups, 'shiplog-long-', { SHIPLOG_MAX_LINE_BYTES: '64KiB' });
    const big = '日'.repeat(1_000_000);
    const c = await runContainer({ script: "echo before; yes '日' | head -n 1000000 | tr -d '\\n'; echo; echo after", logDriver: 'local', labels: scope.labels });
    cleanups.push(() => removeContainers([c.id]));
    await waitExit(c.id);
    await waitFor(async () => ((await logs(u, `container=${c.name}&q=after`)).body.data?.length ?? 0) === 1, 60_000, 'the last line stored');

    const metrics = await (await fetch(`${u.url}/metrics`)).text();
    expect(Number(metrics.match(/^shiplog_agent_lines_split_total (\d+)/m)?.[1])).toBeGreaterThanOrEqual(40);
    // Each part ends at a character boundary: none is shipped as invalid UTF-8 (base64).
    expect(Number(metrics.match(/^shiplog_agent_invalid_utf8_lines_total (\d+)/m)?.[1])).toBe(0);

    for (const order of ['oldest', 'newest'] as const) {
      const pages = await allPages(u, c.name, order);
      // Pages of one stored row each: those holding a continuing part alone are empty; none ends inside the line.
      const lines = pages.flat();
      const messages = lines.map((l) => l.message);
      expect(messages.length, order).toBe(3);
      expect(messages[order === 'oldest' ? 0 : 2]).toBe('before');
      expect(messages[order === 'oldest' ? 2 : 0]).toBe('after');
      const joined = lines[1] as ApiLine;
      expect(Buffer.byteLength(joined.message)).toBe(3_000_000);
      expect(joined.message === big).toBe(true);
      expect(joined.message_base64).toBeUndefined();
      expect(Number(joined.attributes['log.parts'])).toBeGreaterThanOrEqual(46);
      expect(joined.attributes['log.encoding']).toBeUndefined();
      expect(joined.attributes['log.split']).toBeUndefined();
    }

    const raw = await new Promise<Buffer>((resolve) => {
      const p = spawn(process.execPath, [CLI, 'logs', c.name, '--raw', '-n', 'all'], { env: { PATH: process.env.PATH, SHIPLOG_URL: u.url }, stdio: ['ignore', 'pipe', 'inherit'] });
      const chunks: Buffer[] = [];
      p.stdout?.on('data', (d: Buffer) => chunks.push(d));
      p.on('close', () => resolve(Buffer.concat(chunks)));
    });
    expect(raw.equals(Buffer.from(`before\n${big}\nafter\n`))).toBe(true);
  });
});
