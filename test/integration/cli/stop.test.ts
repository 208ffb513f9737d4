/**
 * A stop always ends: Ctrl-C on `shiplog up` with a live-tail client connected ends the
 * client's stream (event end, reason shutdown) and exits (it once hung until the client left);
 * SIGTERM on a collector whose store is down exits within SHIPLOG_STOP_TIMEOUT (it once
 * retried for minutes). The data dir is free again: the next start opens it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { readSse } from '../../../lib/sse.js';
import { startCollector, tempDir } from '../../helpers/agent-process.js';
import { runCleanups } from '../../helpers/cleanup.js';
import { waitFor } from '../../helpers/kafka-read.js';
import { startChdbEndpoint } from '../../helpers/store.js';
import { createTopics } from '../../helpers/topics.js';
import { up } from '../../helpers/up-process.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  await runCleanups(cleanups);
});

describe('stopping', () => {
  it('Ctrl-C on shiplog up with a tail client connected ends the stream and exits; the next start opens the data dir', async () => {
    const data = tempDir('shiplog-stop-');
    cleanups.push(data.cleanup);
    const u = await up({ SHIPLOG_DATA_DIR: data.dir, SHIPLOG_INCLUDE_LABELS: `none=${randomUUID()}` });
    cleanups.push(() => void u.proc.kill('SIGKILL'));
    const events: string[] = [];
    // A client that stays connected for as long as the server lets it.
    const tail = (async () => {
      const res = await fetch(`${u.url}/api/v1/logs/tail?backlog=0`);
      for await (const ev of readSse(res.body as unknown as AsyncIterable<Uint8Array>)) events.push(`${ev.event}:${ev.data}`);
    })().catch(() => undefined);
    await waitFor(async () => (await (await fetch(`${u.url}/metrics`)).text()).includes('shiplog_api_tail_streams 1'), 10_000, 'the tail to be open');
    u.proc.kill('SIGINT');
    expect(await u.exited).toBe(0);
    await tail;
    expect(events.at(-1)).toMatch(/^end:.*"reason":"shutdown"/);
    const again = await up({ SHIPLOG_DATA_DIR: data.dir, SHIPLOG_INCLUDE_LABELS: `none=${randomUUID()}` });
    expect((await fetch(`${again.url}/readyz`)).status).toBeLessThan(600);
    again.proc.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  it('SIGTERM on a collector whose store is down exits within SHIPLOG_STOP_TIMEOUT', async () => {
    const prefix = `t-${randomUUID()}`;
    const kafka = await createTopics(prefix);
    const ep = await startChdbEndpoint(tempDir('shiplog-chdb-http-').dir);
    cleanups.push(() => ep.stop());
    const collector = await startCollector({ SHIPLOG_CLICKHOUSE_URL: ep.url, SHIPLOG_KAFKA_TOPIC_PREFIX: prefix, SHIPLOG_COLLECTOR_GROUP: `g-${randomUUID()}`, SHIPLOG_STOP_TIMEOUT: '3s' });
    cleanups.push(() => void collector.proc.kill('SIGKILL'));
    await waitFor(async () => (await fetch(`${collector.url}/readyz`)).status === 200, 60_000, 'the collector ready');
    await ep.stop();
    const producer = kafka.producer();
    await producer.connect();
    const line = { ts: '2026-11-23T16:00:00Z', stream: 'stdout', msg: 'x' };
    await producer.send({ topic: `${prefix}.logs`, messages: [{ key: 'k', value: JSON.stringify({ v: 1, type: 'logs', host: 'h', container: { id: 'a'.repeat(64), name: 'n', image: 'i', labels: {} }, lines: [line], cursor: { stdout: { ts: line.ts, n: 1 } } }) }] });
    await producer.disconnect();
    // Reading the stored offsets (or inserting) fails and is retried.
    await waitFor(() => /failed; retrying/.test(collector.output()), 60_000, 'the store to fail');
    collector.proc.kill('SIGTERM');
    const code = await collector.exited;
    expect(code === 0 || code === 1).toBe(true);
  });
});
