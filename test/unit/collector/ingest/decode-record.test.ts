import { describe, expect, it } from 'vitest';
import { decodeRecord } from '../../../../collector/ingest/decode-record.js';

const good = {
  v: 1,
  type: 'logs',
  host: 'h',
  container: { id: 'a'.repeat(64), name: 'n', image: 'i', labels: {} },
  lines: [{ ts: '2026-11-23T16:00:00.000000001Z', stream: 'stdout', msg: 'x' }],
  cursor: { stdout: { ts: '2026-11-23T16:00:00.000000001Z', n: 1 } },
};

describe('decodeRecord', () => {
  it('accepts a valid record', () => {
    const d = decodeRecord(Buffer.from(JSON.stringify(good)), 1 << 20);
    expect(d.ok).toBe(true);
  });

  it('rejects with a reason: empty, oversized, not JSON, wrong schema', () => {
    expect(decodeRecord(null, 100)).toMatchObject({ ok: false, reason: 'empty' });
    expect(decodeRecord(Buffer.alloc(200, 'x'), 100)).toMatchObject({ ok: false, reason: 'oversized' });
    expect(decodeRecord(Buffer.from('{"v":1,'), 1000)).toMatchObject({ ok: false, reason: 'not_json' });
    const bad = decodeRecord(Buffer.from(JSON.stringify({ ...good, lines: [{ ts: 'noon', stream: 'stdout', msg: 'x' }] })), 1 << 20);
    expect(bad).toMatchObject({ ok: false, reason: 'schema' });
    expect(!bad.ok && bad.detail).toContain('/lines/0/ts');
  });

  it('rejects times the store cannot hold (Docker\'s zero time), instead of failing the insert again and again', () => {
    const zero = decodeRecord(Buffer.from(JSON.stringify({ ...good, lines: [{ ts: '0001-01-01T00:00:00Z', stream: 'stdout', msg: 'x' }] })), 1 << 20);
    expect(zero).toMatchObject({ ok: false, reason: 'schema' });
    const stats = {
      v: 1, type: 'stats', host: 'h', ts: '0001-01-01T00:00:00Z', container: { id: 'a'.repeat(64), name: 'n', image: 'i', labels: {} },
      cpu: { total_ns: 0, user_ns: 0, system_ns: 0, periods: 0, throttled_periods: 0, throttled_ns: 0 }, memory: { usage: 0, working_set: 0, rss: 0, cache: 0, limit: 0 },
      networks: {}, blkio: { read_bytes: 0, write_bytes: 0 }, pids: 0,
    };
    expect(decodeRecord(Buffer.from(JSON.stringify(stats)), 1 << 20, 'stats')).toMatchObject({ ok: false, reason: 'schema' });
    expect(decodeRecord(Buffer.from(JSON.stringify({ ...stats, ts: '2026-11-23T16:00:00.5Z' })), 1 << 20, 'stats')).toMatchObject({ ok: true });
  });
});

describe('decodeRecord on JSON text (the in-process agent of shiplog up)', () => {
  it('parses text as bytes would be parsed, and counts its size in UTF-8 bytes', () => {
    const rec = { v: 1, type: 'logs', host: 'h', container: { id: 'a'.repeat(64), name: 'n', image: 'i', labels: {} }, lines: [{ ts: '2026-11-25T10:00:00.000000001Z', stream: 'stdout', msg: '日本' }], cursor: { stdout: { ts: '2026-11-25T10:00:00.000000001Z', n: 1 } } };
    const text = JSON.stringify(rec);
    expect(decodeRecord(text, 1 << 20)).toEqual(decodeRecord(Buffer.from(text), 1 << 20));
    const bytes = Buffer.byteLength(text);
    // Over the limit by bytes though not by characters: refused with its byte count.
    expect(decodeRecord(text, bytes - 1)).toEqual({ ok: false, reason: 'oversized', detail: `record is ${bytes} bytes; the limit is ${bytes - 1}` });
    expect(decodeRecord(text, bytes).ok).toBe(true);
    expect(decodeRecord('', 10)).toMatchObject({ ok: false, reason: 'empty' });
  });
});
