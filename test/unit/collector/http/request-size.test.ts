/**
 * Requests the HTTP parser refuses before any route: every request within the parameters'
 * maxLength is parsed (even each string parameter at its limit in percent-encoded 4-byte
 * characters), a longer one is a 431 and a malformed one a 400, both in the API's error shape.
 * Once a schema-invalid request got the framework's own 431 body, and a valid one could too.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../../../collector/http/app.js';
import { filterProperties } from '../../../../collector/query/filters.js';
import type { LogStore } from '../../../../collector/store/store.js';

const refuse = async (): Promise<never> => {
  throw new Error('the store must not be asked');
};
const store: LogStore = { kind: 'chdb', database: 'shiplog', exec: refuse, query: refuse, queryWithStats: refuse, insertTsv: async () => undefined, ping: async () => undefined, close: async () => undefined };

const app = build({ store, registry: new Registry(), status: () => ({ consuming: true, storage: 'up', storageKind: 'chdb' }) });
let port = 0;
beforeAll(async () => {
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as { port: number }).port;
});
afterAll(async () => {
  await app.close();
});

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('requests refused before any route', () => {
  it('parses a request with every string parameter at its maxLength of 4-byte characters', async () => {
    const params = Object.entries(filterProperties)
      .filter(([, s]) => 'maxLength' in s && !('pattern' in s))
      .map(([name, s]) => `${name}=${encodeURIComponent('😀'.repeat((s as { maxLength: number }).maxLength))}`);
    // limit=0 makes it a 400 naming limit: proof the route saw the request.
    const path = `/api/v1/logs?${params.join('&')}&since=2026-11-25T10:00:00.000000000%2B01:00&limit=0`;
    expect(path.length).toBeGreaterThan(16 * 1024);
    const r = await get(path);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({ error: 'bad_parameter', parameter: 'limit' });
  });

  it('answers a request line past 64 KiB with a 431 in the API error shape', async () => {
    const r = await get(`/api/v1/logs?q=${'x'.repeat(70 * 1024)}`);
    expect(r.status).toBe(431);
    expect(JSON.parse(r.body)).toEqual({ error: 'request_too_large', message: 'the request line and headers exceed 64 KiB' });
  });

  it('answers bytes that are not HTTP with a 400 in the API error shape, and keeps serving', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => s.write('GET /\u0000 HTTP/1.1\r\n\r\n'));
      let got = '';
      s.on('data', (c: Buffer) => (got += c.toString()));
      s.on('close', () => resolve(got));
      s.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toEqual({ error: 'bad_request', message: 'the request is not valid HTTP' });
    expect((await get('/openapi.json')).status).toBe(200);
  });
});
