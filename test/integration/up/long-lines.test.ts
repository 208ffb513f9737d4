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
import { removeContainers, runContainer, testScope, waitExit } from '../../helpers/docker.js';
import { waitFor } from '../../helpers/kafka-read.js';
import { createTopics } from '../../helpers/topics.js';
import { kafkaUp, logs, scopedUp, type Up } from '../../helpers/up-process.js';

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

/** The lines of container `name`, read back one per page in both orders and with `shiplog logs --raw`, are `expected`. */
async function expectBack(u: Up, name: string, expected: string[]): Promise<void> {
  for (const order of ['oldest', 'newest'] as const) {
    const lines = (await allPages(u, name, order)).flat();
    const want = order === 'oldest' ? expected : [...expected].reverse();
    expect(lines.map((l) => Buffer.byteLength(l.message)), order).toEqual(want.map((m) => Buffer.byteLength(m)));
    expect(lines.every((l, i) => l.message === want[i] && l.message_base64 === undefined && l.attributes['log.split'] === undefined), order).toBe(true);
  }
  const raw = await new Promise<Buffer>((resolve) => {
    const p = spawn(process.execPath, [CLI, 'logs', name, '--raw', '-n', 'all'], { env: { PATH: process.env.PATH, SHIPLOG_URL: u.url }, stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    p.stdout?.on('data', (d: Buffer) => chunks.push(d));
    p.on('close', () => resolve(Buffer.concat(chunks)));
  });
  expect(raw.equals(Buffer.from(expected.map((m) => `${m}\n`).join('')))).toBe(true);
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

    // Pages of one stored row each: a page holding a continuing part alone is empty; none ends inside the line.
    await expectBack(u, c.name, ['before', big, 'after']);
    const joined = (await allPages(u, c.name, 'oldest')).flat()[1] as ApiLine;
    expect(Number(joined.attributes['log.parts'])).toBeGreaterThanOrEqual(46);
    expect(joined.attributes['log.encoding']).toBeUndefined();
  });

  it("through Kafka topics with the broker's default message limit (~1 MB): a 3 MB multi-byte line and a 1 MiB line come back whole", async () => {
    const scope = testScope();
    const prefix = `long-${scope.value.slice(0, 8)}`;
    // Created with the broker's defaults, as a cluster's admin might: the agent fits its parts to them.
    await createTopics(prefix);
    const u = await kafkaUp(cleanups, scope, prefix);
    const c = await runContainer({
      script: "yes '日' | head -n 1000000 | tr -d '\\n'; echo; head -c 1048576 /dev/zero | tr '\\0' m; echo; echo after",
      logDriver: 'local',
      labels: scope.labels,
    });
    cleanups.push(() => removeContainers([c.id]));
    await waitExit(c.id);
    await waitFor(async () => ((await logs(u, `container=${c.name}&q=after`)).body.data?.length ?? 0) === 1, 90_000, 'the last line stored through Kafka');
    await expectBack(u, c.name, ['日'.repeat(1_000_000), 'm'.repeat(1_048_576), 'after']);
  });
});
