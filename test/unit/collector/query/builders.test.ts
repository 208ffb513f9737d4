/**
 * The query builders in process: filters become parameterised conditions (user text only ever
 * in parameters, never in the SQL), cursors round-trip and refuse anything this API did not
 * write, and the histogram's buckets are zero-filled over the range and summed per level,
 * against a fake store that returns what a real engine would.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BadParameter, logFilters } from '../../../../collector/query/filters.js';
import { histogram } from '../../../../collector/query/histogram.js';
import { buildPageQuery, decodeCursor, encodeCursor, type Position } from '../../../../collector/query/logs-page.js';
import type { LogStore, QueryParams } from '../../../../collector/store/store.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');

describe('filters', () => {
  it('keep every user value in parameters: the SQL text never contains it', () => {
    fc.assert(
      // Each value starts with a quote and a BEL: neither is ever part of the SQL text.
      fc.property(fc.string({ maxLength: 50 }).map((s) => `'\u0007${s}`), (text) => {
        const w = logFilters({ container: text, host: text, service: text, q: text }, NOW);
        const sql = w.conditions.join(' AND ');
        expect(sql.includes("'") || sql.includes('\u0007')).toBe(false);
        expect(Object.values(w.params).some((v) => String(v).includes(text) || String(v).includes(text.replace(/[\\%_]/g, '\\$&')))).toBe(true);
      }),
    );
  });

  it('escape LIKE wildcards in plain text search, and check a regex before the engine sees it', () => {
    expect(logFilters({ q: '100%_done\\' }, NOW).params.q).toBe('%100\\%\\_done\\\\%');
    expect(logFilters({ q: 'a.*b', regex: true }, NOW).conditions).toContain('match(Body, {q:String})');
    expect(() => logFilters({ q: '(', regex: true }, NOW)).toThrow(BadParameter);
  });

  it('read min_level as that level or worse, and level as exactly it', () => {
    const w = logFilters({ min_level: 'warn', level: 'error' }, NOW);
    expect(w.params.level).toBe('ERROR');
    expect(w.conditions).toContain('SeverityNumber >= {min_severity:UInt8}');
    expect(Number(w.params.min_severity)).toBe(13);
  });

  it('take a duration as before now and refuse until before since, naming until', () => {
    const w = logFilters({ since: '1h' }, NOW);
    expect(w.since).toBe(BigInt(NOW - 3_600_000) * 1_000_000n);
    try {
      logFilters({ since: '2026-11-25T10:00:00Z', until: '2026-11-25T09:00:00Z' }, NOW);
      expect.unreachable();
    } catch (err) {
      expect((err as BadParameter).parameter).toBe('until');
    }
  });
});

describe('cursors', () => {
  const position = fc.record({
    tsNs: fc.bigInt({ min: 0n, max: 2n ** 32n * 1_000_000_000n - 1n }).map(String),
    containerId: fc.stringMatching(/^[0-9a-f]{0,64}$/),
    topic: fc.string({ maxLength: 256 }),
    partition: fc.integer({ min: 0, max: 0xffffffff }),
    offset: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String),
    line: fc.integer({ min: 0, max: 0xffffffff }),
  });

  it('round-trip every position the API can write', () => {
    fc.assert(
      fc.property(position, (p: Position) => {
        expect(decodeCursor(encodeCursor(p))).toEqual(p);
      }),
    );
  });

  it('refuse anything else as a bad cursor parameter, never as a crash', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          decodeCursor(s);
        } catch (err) {
          expect(err).toBeInstanceOf(BadParameter);
          expect((err as BadParameter).parameter).toBe('cursor');
        }
      }),
    );
  });

  it('page after a cursor with its fields as parameters, ordered by the full key', () => {
    const cursor = encodeCursor({ tsNs: '1795449600000000001', containerId: 'ab', topic: "t'; DROP TABLE x", partition: 1, offset: '7', line: 2 });
    const b = buildPageQuery('shiplog', 'otel_logs', { cursor, order: 'oldest', limit: 5 }, { maxResultBytes: 1000, queryTimeoutMs: 2000 }, NOW);
    expect(b.sql).not.toContain('DROP TABLE');
    expect(b.params.c_topic).toBe("t'; DROP TABLE x");
    expect(b.params.fetch).toBe(6);
    expect(b.sql).toMatch(/ts_ns_key ASC, container_id ASC, k_topic ASC, k_part ASC, k_off_key ASC, k_line ASC/);
    expect(b.sql).toContain('max_execution_time = 2.000');
  });
});

describe('histogram', () => {
  /** Answers the bucket query as the engine would, from a list of (second, level) rows, honouring the step. */
  const storeOf = (rows: [number, string][]): LogStore =>
    ({
      query: async (_sql: string, params?: QueryParams) => {
        const step = Number(params?.step);
        const counts = new Map<string, number>();
        for (const [t, level] of rows) {
          const k = `${Math.floor(t / step) * step}\u0000${level}`;
          counts.set(k, (counts.get(k) ?? 0) + 1);
        }
        return [...counts].map(([k, n]) => ({ t: String(k.split('\u0000')[0]), level: k.split('\u0000')[1], n: String(n) }));
      },
    }) as unknown as LogStore;

  it('zero-fills every bucket of the range and sums per level', async () => {
    const from = Date.parse('2026-11-25T11:00:00Z') / 1000;
    const rows: [number, string][] = [[from + 5, 'info'], [from + 7, 'error'], [from + 65, 'info'], [from + 3599, '']];
    const h = await histogram(storeOf(rows), 'shiplog', 'otel_logs', { since: '2026-11-25T11:00:00Z', until: '2026-11-25T12:00:00Z', interval: '1m' }, 1000, NOW);
    expect(h.interval_seconds).toBe(60);
    expect(h.buckets).toHaveLength(60);
    expect(h.buckets[0]).toEqual({ time: '2026-11-25T11:00:00.000Z', total: 2, levels: { info: 1, error: 1 } });
    expect(h.buckets[1]).toEqual({ time: '2026-11-25T11:01:00.000Z', total: 1, levels: { info: 1 } });
    expect(h.buckets[59]?.levels).toEqual({ unknown: 1 });
    expect(h.buckets.reduce((n, b) => n + b.total, 0)).toBe(rows.length);
  });

  it('picks a round interval by itself and refuses one that makes too many buckets', async () => {
    const h = await histogram(storeOf([]), 'shiplog', 'otel_logs', { since: '24h' }, 1000, NOW);
    expect(h.buckets.length).toBeGreaterThan(10);
    expect(h.buckets.length).toBeLessThanOrEqual(1000);
    await expect(histogram(storeOf([]), 'shiplog', 'otel_logs', { since: '7d', interval: '1s' }, 1000, NOW)).rejects.toBeInstanceOf(BadParameter);
  });
});
