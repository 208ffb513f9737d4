/**
 * Every bad parameter is a 400 naming it, decided before the store is asked (the store here
 * fails the test if it is); an engine failure is a 500 with an id and none of the engine's
 * words. Once these gave 500s with engine internals, or silently wrong answers.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { build } from '../../../../collector/http/app.js';
import { StorageError, type LogStore } from '../../../../collector/store/store.js';

const untouchable: LogStore = {
  kind: 'chdb',
  database: 'shiplog',
  exec: async () => {
    throw new Error('the store must not be asked');
  },
  query: async () => {
    throw new Error('the store must not be asked');
  },
  queryWithStats: async () => {
    throw new Error('the store must not be asked');
  },
  insertTsv: async () => undefined,
  ping: async () => undefined,
  close: async () => undefined,
};

const cursor = (a: unknown[]) => Buffer.from(JSON.stringify(a)).toString('base64url');

const BAD: [string, string][] = [
  ['/api/v1/logs?q=(&regex=true', 'q'],
  ['/api/v1/logs?q=(?%3Da)&regex=true', 'q'],
  ['/api/v1/logs?limit=Infinity', 'limit'],
  ['/api/v1/logs?limit=1e309', 'limit'],
  ['/api/v1/logs?limit=0x10', 'limit'],
  ['/api/v1/logs?limit=-1', 'limit'],
  ['/api/v1/logs?limit=10001', 'limit'],
  ['/api/v1/logs?limit=1&limit=2', 'limit'],
  ['/api/v1/logs/tail?backlog=Infinity', 'backlog'],
  ['/api/v1/logs/tail?backlog=1e3', 'backlog'],
  ['/api/v1/logs?since=', 'since'],
  ['/api/v1/logs?until=', 'until'],
  ['/api/v1/logs?since=99999999999d', 'since'],
  ['/api/v1/logs?since=1e308h', 'since'],
  ['/api/v1/logs?since=1677-09-20T00:00:00Z', 'since'],
  ['/api/v1/logs?since=9999-12-31T23:59:59Z', 'since'],
  ['/api/v1/logs?since=1969-12-31T23:59:59Z', 'since'],
  ['/api/v1/logs?since=2106-02-08T00:00:00Z', 'since'],
  ['/api/v1/logs?since=2026-02-30T00:00:00Z', 'since'],
  ['/api/v1/logs?since=2026-13-01T00:00:00Z', 'since'],
  ['/api/v1/logs?since=2026-11-23T25:00:00Z', 'since'],
  ['/api/v1/logs?since=2026-11-23T10:00:00+25:00', 'since'],
  ['/api/v1/logs?since=2026-11-23T10:00:00Z&until=2026-11-23T09:00:00Z', 'until'],
  ['/api/v1/logs/histogram?interval=4294967296s', 'interval'],
  ['/api/v1/logs/histogram?interval=0s', 'interval'],
  ['/api/v1/logs/histogram?interval=1.5s', 'interval'],
  ['/api/v1/logs/histogram?since=100000d', 'since'],
  [`/api/v1/logs?cursor=${cursor(['0000000000000000000000001', 'a', 't', 0, '1', 0])}`, 'cursor'],
  [`/api/v1/logs?cursor=${cursor(['9999999999999999999', 'a', 't', 0, '1', 0])}`, 'cursor'],
  [`/api/v1/logs?cursor=${cursor(['1', 'a', 't', 0, '99999999999999999999', 0])}`, 'cursor'],
  [`/api/v1/logs?cursor=${cursor(['01', 'a', 't', 0, '1', 0])}`, 'cursor'],
  ['/api/v1/logs?cursor=not-a-cursor', 'cursor'],
  ['/api/v1/logs?level=WARN', 'level'],
  ['/api/v1/logs?order=sideways', 'order'],
  ['/api/v1/logs?regex=maybe', 'regex'],
  ['/api/v1/logs?bogus=1', 'bogus'],
  ['/api/v1/containers?since=', 'since'],
  ['/api/v1/dead-letters?since=xyz', 'since'],
  ['/api/v1/dead-letters?limit=1001', 'limit'],
];

describe('API parameter validation', () => {
  const app = build({ registry: new Registry(), store: untouchable, status: () => ({ consuming: true, storage: 'up', storageKind: 'chdb' }) });

  for (const [url, parameter] of BAD) {
    it(`${url.slice(0, 90)} is a 400 naming ${parameter}`, async () => {
      const r = await app.inject({ method: 'GET', url });
      expect(r.statusCode, r.body).toBe(400);
      const body = r.json() as { error: string; parameter: string; message: string };
      expect(body.error).toBe('bad_parameter');
      expect(body.parameter).toBe(parameter);
      expect(body.message).toContain(parameter);
    });
  }

  it('accepts lowercase t and z and offsets in RFC 3339 times', async () => {
    const asked: unknown[] = [];
    const store: LogStore = { ...untouchable, query: async (_sql, params) => (asked.push(params), []) };
    const ok = build({ registry: new Registry(), store, status: () => ({ consuming: true, storage: 'up', storageKind: 'chdb' }) });
    for (const since of ['2026-11-23t10:00:00z', '2026-11-23T12:00:00+02:00', '2024-02-29T00:00:00.123456789Z']) {
      const r = await ok.inject({ method: 'GET', url: `/api/v1/logs?since=${encodeURIComponent(since)}` });
      expect(r.statusCode, `${since}: ${r.body}`).toBe(200);
    }
    expect((asked[0] as { since: string }).since).toBe((asked[1] as { since: string }).since);
  });

  it('an engine failure is a 500 with an id, without the engine\'s words', async () => {
    const failing: LogStore = { ...untouchable, query: async () => Promise.reject(new StorageError('embedded store: Code: 62. DB::Exception: Syntax error at /var/lib/secret-path')) };
    const logged: unknown[] = [];
    const log = { error: (o: unknown) => logged.push(o) } as unknown as Parameters<typeof build>[0]['log'];
    const a = build({ registry: new Registry(), store: failing, log, status: () => ({ consuming: true, storage: 'up', storageKind: 'chdb' }) });
    const r = await a.inject({ method: 'GET', url: '/api/v1/logs' });
    expect(r.statusCode).toBe(500);
    expect(r.body).not.toMatch(/DB::Exception|secret-path|Code: 62/);
    const body = r.json() as { error: string; id: string };
    expect(body.error).toBe('internal');
    expect(logged).toHaveLength(1);
    expect(JSON.stringify(logged[0])).toContain(body.id);
    expect(JSON.stringify(logged[0])).toContain('DB::Exception');
  });

  it('an engine timeout is a 503 naming SHIPLOG_API_QUERY_TIMEOUT', async () => {
    const slow: LogStore = { ...untouchable, query: async () => Promise.reject(new StorageError('Code: 159. TIMEOUT_EXCEEDED', undefined, 'timeout')) };
    const a = build({ registry: new Registry(), store: slow, status: () => ({ consuming: true, storage: 'up', storageKind: 'chdb' }) });
    const r = await a.inject({ method: 'GET', url: '/api/v1/logs' });
    expect(r.statusCode).toBe(503);
    expect(r.body).toContain('SHIPLOG_API_QUERY_TIMEOUT');
  });
});
