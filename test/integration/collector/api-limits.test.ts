/**
 * The API under abuse, over real sockets against the real engine (chDB): clients that never
 * read the live tail are ended after a bounded buffer while a reading client gets every line
 * once; live tails and queries past their limits get 429 with Retry-After while the API keeps
 * answering; a stop with tail clients connected ends their streams and finishes.
 * (Once 10 non-reading clients took the process from 0.8 to 3.2 GB, 200 tail clients starved
 * the API for minutes, and Ctrl-C hung while any `shiplog logs -f` was connected.)
 */
import { connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RowEncoder } from '../../../collector/ingest/encode-rows.js';
import { build } from '../../../collector/http/app.js';
import type { ChdbStore } from '../../../collector/store/chdb-store.js';
import { LOG_INSERT_COLUMNS } from '../../../collector/store/schema.js';
import { readSse } from '../../../lib/sse.js';
import { tempDir } from '../../helpers/agent-process.js';
import { openMigratedStore } from '../../helpers/store.js';
import { waitFor } from '../../helpers/kafka-read.js';

const dir = tempDir('shiplog-limits-');
let store: ChdbStore;
let offset = 0;

beforeAll(async () => {
  store = await openMigratedStore(dir.dir);
});

afterAll(async () => {
  await store?.close();
  dir.cleanup();
});

/** Stores `n` lines of container `name` now, each `size` bytes, numbered from `from`. */
async function storeLines(name: string, from: number, n: number, size = 100): Promise<void> {
  const enc = new RowEncoder();
  const ts = new Date().toISOString().replace('Z', '000000Z');
  const lines = Array.from({ length: n }, (_, i) => ({ ts, stream: 'stdout' as const, msg: `${name} ${String(from + i).padStart(8, '0')} ${'x'.repeat(size)}` }));
  enc.add({ v: 1, type: 'logs', host: 'h', container: { id: 'f'.repeat(64), name, image: 'i', labels: {} }, lines, cursor: {} }, { topic: 'limits', partition: 0, offset: String(offset++) });
  await store.insertTsv('otel_logs', LOG_INSERT_COLUMNS, enc.take(), `limits-${offset}`);
}

async function startApp(limits: Record<string, number>): Promise<{ app: FastifyInstance; url: string; port: number; registry: Registry }> {
  const registry = new Registry();
  const app = build({ registry, store, limits, status: () => ({ consuming: true, storage: 'up', storageKind: 'chdb' }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  return { app, url: `http://127.0.0.1:${port}`, port, registry };
}

/** A client that sends a tail request and then never reads (its socket is paused). */
function nonReader(port: number, query: string): Promise<{ socket: Socket }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`GET /api/v1/logs/tail?${query} HTTP/1.1\r\nHost: x\r\n\r\n`);
      socket.once('data', () => {
        socket.pause();
        resolve({ socket });
      });
    });
    socket.on('error', () => undefined);
  });
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || (name.includes('{') && l.startsWith(name)) || l.startsWith(`${name}{`));
  return Number(line?.split(' ').pop() ?? NaN);
}

describe('live tail under abuse', () => {
  it('non-reading clients are ended after a bounded buffer; a reading client gets every line once, in order', async () => {
    const { app, url, port } = await startApp({ tailBufferBytes: 64 * 1024 });
    try {
      const name = 'flood';
      // The server's end of each connection, by the client's port.
      const serverSide = new Map<number, Socket>();
      app.server.on('connection', (s: Socket) => serverSide.set(s.remotePort as number, s));
      const slow = await Promise.all(Array.from({ length: 10 }, () => nonReader(port, `container=${name}&backlog=0`)));
      const got: string[] = [];
      const ac = new AbortController();
      const reading = (async () => {
        const res = await fetch(`${url}/api/v1/logs/tail?container=${name}&backlog=0`, { signal: ac.signal });
        for await (const ev of readSse(res.body as unknown as AsyncIterable<Uint8Array>)) if (ev.event === 'message') got.push((JSON.parse(ev.data) as { message: string }).message.split(' ')[1] as string);
      })().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 500));
      // ~40 MB of lines: far more than any socket buffer holds.
      const TOTAL = 40_000;
      for (let i = 0; i < TOTAL; i += 2000) await storeLines(name, i, 2000, 1000);
      await waitFor(() => got.length >= TOTAL, 120_000, 'the reading client to get every line');
      expect(got).toEqual(Array.from({ length: TOTAL }, (_, i) => String(i).padStart(8, '0')));
      // Every non-reader was ended, and its connection let go: only the reader's stream is left.
      expect(await metric(url, 'shiplog_api_tail_streams_ended_total{reason="slow_reader"}')).toBe(10);
      expect(await metric(url, 'shiplog_api_tail_streams')).toBe(1);
      await waitFor(() => slow.every((s) => serverSide.get(s.socket.localPort as number)?.destroyed === true), 20_000, 'the non-readers\' connections closed by the server');
      for (const s of slow) s.socket.destroy();
      ac.abort();
      await reading;
    } finally {
      await app.close();
    }
  });

  it('past SHIPLOG_API_MAX_TAIL_CLIENTS a tail gets 429 with Retry-After, and the API still answers', async () => {
    const { app, url } = await startApp({ maxTailClients: 3 });
    // Raw sockets, closed by the test: an aborted fetch() may leave undici's socket open, and
    // then there is no close for the server to see (this test waited 30 s for one, 1 run in 3).
    const tails: Socket[] = [];
    const ac = new AbortController();
    try {
      for (let i = 0; i < 3; i++) tails.push((await nonReader(Number(new URL(url).port), 'backlog=0')).socket);
      expect(await metric(url, 'shiplog_api_tail_streams')).toBe(3);
      const over = await fetch(`${url}/api/v1/logs/tail?backlog=0`);
      expect(over.status).toBe(429);
      expect(over.headers.get('retry-after')).toBe('1');
      expect(((await over.json()) as { setting: string }).setting).toBe('SHIPLOG_API_MAX_TAIL_CLIENTS');
      expect(await metric(url, 'shiplog_api_requests_refused_total{setting="SHIPLOG_API_MAX_TAIL_CLIENTS"}')).toBe(1);
      expect((await fetch(`${url}/api/v1/logs?limit=1`)).status).toBe(200);
      tails[0]?.destroy();
      // Let go at once when the close is seen, at the latest with the next keep-alive write (15 s).
      await waitFor(async () => (await metric(url, 'shiplog_api_tail_streams')) === 2, 30_000, 'the closed stream to be let go');
      expect((await fetch(`${url}/api/v1/logs/tail?backlog=0`, { signal: ac.signal })).status).toBe(200);
    } finally {
      ac.abort();
      for (const t of tails) t.destroy();
      await app.close();
    }
  });

  it('many heavy queries at once: each answered 200 or 429 with Retry-After, never 5xx; health answers meanwhile', async () => {
    await storeLines('heavy', 0, 50_000, 200);
    const { app, url } = await startApp({ maxQueries: 2 });
    try {
      const queries = Array.from({ length: 50 }, (_, i) => fetch(`${url}/api/v1/logs?q=nomatch-${i}&regex=true&since=1d&limit=10`).then(async (r) => ({ status: r.status, retry: r.headers.get('retry-after'), body: await r.text() })));
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      const answers = await Promise.all(queries);
      for (const a of answers) {
        expect([200, 429], a.body).toContain(a.status);
        if (a.status === 429) expect(a.retry).toBe('1');
      }
      expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  });

  it('a stop with tail clients connected ends their streams (event end, reason shutdown) and finishes', async () => {
    const { app, url } = await startApp({});
    const events: string[][] = [[], [], []];
    const readers = events.map(async (evs) => {
      const res = await fetch(`${url}/api/v1/logs/tail?backlog=0`);
      for await (const ev of readSse(res.body as unknown as AsyncIterable<Uint8Array>)) evs.push(`${ev.event}:${ev.data}`);
    });
    await waitFor(async () => (await metric(url, 'shiplog_api_tail_streams')) === 3, 10_000, 'three tails open');
    await app.close();
    await Promise.all(readers);
    for (const evs of events) expect(evs.at(-1)).toMatch(/^end:.*"reason":"shutdown"/);
  });
});
