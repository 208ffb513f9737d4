/**
 * SHIPLOG_API_TOKEN over real HTTP (raw sockets, so no client tidies the request target):
 * every way of spelling a protected path — percent-encodings, double slashes, dot segments,
 * case, absolute-form targets — needs the token, because the check is made on the route the
 * router matched. Once `/%61pi/v1/logs?q=DB_PASSWORD` and an absolute-form target returned
 * logs without one.
 */
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RowEncoder } from '../../../collector/ingest/encode-rows.js';
import { build } from '../../../collector/http/app.js';
import type { ChdbStore } from '../../../collector/store/chdb-store.js';
import { LOG_INSERT_COLUMNS } from '../../../collector/store/schema.js';
import { tempDir } from '../../helpers/agent-process.js';
import { openMigratedStore } from '../../helpers/store.js';

const TOKEN = 's3cret-Token_42';
const SECRET_LINE = 'DB_PASSWORD=hunter2';
const dir = tempDir('shiplog-auth-');
let store: ChdbStore;
let app: FastifyInstance;
let port = 0;

beforeAll(async () => {
  store = await openMigratedStore(dir.dir);
  const enc = new RowEncoder();
  const ts = new Date().toISOString();
  enc.add({ v: 1, type: 'logs', host: 'h', container: { id: 'd'.repeat(64), name: 'db', image: 'pg', labels: {} }, lines: [{ ts, stream: 'stdout', msg: SECRET_LINE }], cursor: {} }, { topic: 't', partition: 0, offset: '1' });
  await store.insertTsv('otel_logs', LOG_INSERT_COLUMNS, enc.take(), 'auth-1');
  app = build({ registry: new Registry(), store, apiToken: TOKEN, status: () => ({ consuming: true, storage: 'up', storageKind: 'chdb' }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as { port: number }).port;
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  dir.cleanup();
});

/** One raw HTTP/1.1 request; returns the status and the whole answer (the tail's stream is cut after 1.5 s). */
function raw(target: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let text = '';
    const done = () => {
      s.destroy();
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    };
    const timer = setTimeout(done, 1500);
    s.on('data', (d) => (text += d.toString('latin1')));
    s.on('end', () => {
      clearTimeout(timer);
      done();
    });
    s.on('error', reject);
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    s.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${extra}\r\n`);
  });
}

const PROTECTED = [
  '/api/v1/logs?q=DB_PASSWORD&since=1h',
  '/%61pi/v1/logs?q=DB_PASSWORD&since=1h',
  '/%61%70%69/%76%31/%6c%6f%67%73?since=1h',
  '/%41pi/v1/logs?since=1h',
  '/api/v1/%6Cogs?since=1h',
  '/api%2Fv1%2Flogs?since=1h',
  '/%2561pi/v1/logs?since=1h',
  '//api/v1/logs?since=1h',
  '///api//v1//logs?since=1h',
  '/./api/v1/logs?since=1h',
  '/api/./v1/logs?since=1h',
  '/x/../api/v1/logs?since=1h',
  '/API/v1/logs?since=1h',
  '/Api/V1/Logs?since=1h',
  '/api/v1/logs/?since=1h',
  '/api/v1/logs;x?since=1h',
  '/api/v1/logs%3Fsince=1h',
  '/api/v1/logs#frag',
  'http://x/api/v1/logs?q=DB_PASSWORD&since=1h',
  'http://127.0.0.1/api/v1/logs?since=1h',
  'HTTP://X/%61pi/v1/logs?since=1h',
  '/api/v1/logs/tail?backlog=5&since=1h',
  '/%61pi/v1/logs/tail?backlog=5',
  'http://x/api/v1/logs/tail?backlog=5',
  '/api/v1/logs/histogram?since=1h',
  '/api/v1/containers',
  '/%61pi/v1/containers',
  '/api/v1/nosuch',
  '/nosuch',
  '/assets/nosuch.js',
  '/assets/../api/v1/logs?since=1h',
];

describe('bearer token', () => {
  it('no spelling of a protected path answers without the token', async () => {
    const leaks: string[] = [];
    for (const target of PROTECTED) {
      const r = await raw(target);
      if (r.status !== 401 && r.status !== 400) leaks.push(`${target} -> ${r.status}`);
      if (r.text.includes(SECRET_LINE)) leaks.push(`${target} -> leaked the line`);
    }
    expect(leaks).toEqual([]);
  });

  it('a wrong or malformed token is refused; the scheme is case-insensitive', async () => {
    for (const h of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN, 'Bearer', 'Bearer ', `Bearer ${TOKEN} extra`, `Bearer%20${TOKEN}`]) {
      const r = await raw('/api/v1/logs?since=1h', { authorization: h });
      expect(r.status, h).toBe(401);
      expect(r.text).not.toContain(SECRET_LINE);
    }
    for (const h of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER ${TOKEN}`, `Bearer  ${TOKEN}`]) {
      const r = await raw('/api/v1/logs?since=1h', { authorization: h });
      expect(r.status, h).toBe(200);
      expect(r.text).toContain(SECRET_LINE);
    }
    const enc = await raw('/%61pi/v1/logs?since=1h', { authorization: `Bearer ${TOKEN}` });
    expect(enc.status).toBe(200);
  });

  it('health, readiness, metrics, the API description and the web page (no data in it) stay open', async () => {
    for (const p of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/%68ealthz', '/', '/assets/app.js', '/assets/app.css']) {
      const r = await raw(p);
      expect(r.status, p).toBe(200);
      expect(r.text).not.toContain(SECRET_LINE);
    }
  });
});
