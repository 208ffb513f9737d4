import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../../../../lib/records.js';
import { RowEncoder, TimestampConverter, mapLiteral, tsvEscape, tsvEscapeBytes } from '../../../../collector/ingest/encode-rows.js';

const rec = (lines: LogRecord['lines'], labels: Record<string, string> = {}): LogRecord => ({
  v: 1,
  type: 'logs',
  host: 'h1',
  container: { id: 'c'.repeat(64), name: 'api-1', image: 'api:2', labels, compose_service: labels['com.docker.compose.service'] },
  lines,
  cursor: { stdout: { ts: '2026-11-23T16:00:00.000000001Z', n: 1 } },
});

describe('TSV encoding', () => {
  it('escapes exactly backslash, tab, newline, CR and NUL, in strings and in bytes', () => {
    expect(tsvEscape('a\\b\tc\nd\re\0f')).toBe('a\\\\b\\tc\\nd\\re\\0f');
    expect(tsvEscape('plain')).toBe('plain');
    const raw = Buffer.from([0xff, 0x5c, 0x09, 0x41]);
    expect(tsvEscapeBytes(raw)).toEqual(Buffer.from([0xff, 0x5c, 0x5c, 0x5c, 0x74, 0x41]));
    const clean = Buffer.from('no escapes');
    expect(tsvEscapeBytes(clean)).toBe(clean);
  });

  it('writes Map literals with quoted, escaped keys and values', () => {
    expect(mapLiteral([['a', "it's"], ['b\\', 'x\ny']])).toBe("{'a':'it\\'s','b\\\\':'x\\ny'}");
  });

  it('converts Docker timestamps to epoch seconds with nanoseconds, with no time zone involved', () => {
    const t = new TimestampConverter();
    expect(t.convert('2026-11-23T16:00:00.123456789Z')).toBe('1795449600.123456789');
    expect(t.convert('2026-11-23T16:00:00.5Z')).toBe('1795449600.500000000');
    expect(t.convert('2026-11-23T16:00:01Z')).toBe('1795449601');
  });

  it('applies a time-zone offset (a foreign producer may send one) and refuses a timestamp without a zone', () => {
    const t = new TimestampConverter();
    expect(t.convert('2026-11-23T18:00:00.5+02:00')).toBe('1795449600.500000000');
    expect(t.convert('2026-11-23T18:00:00.5Z')).toBe('1795456800.500000000');
    expect(t.convert('2026-11-23T10:30:00-05:30')).toBe('1795449600');
    expect(() => t.convert('2026-11-23T16:00:00')).toThrow(/bad timestamp/);
    expect(() => t.convert('2026-11-23T16:00:00.1234567891Z')).toThrow(/bad timestamp/);
  });

  it('writes ten-digit seconds (the engine reads "1" as a month and refuses "0") and refuses times the store cannot hold', () => {
    const t = new TimestampConverter();
    expect(t.convert('1970-01-01T00:00:00Z')).toBe('0000000000');
    expect(t.convert('1970-01-01T00:00:01.5Z')).toBe('0000000001.500000000');
    expect(t.convert('2106-02-07T06:28:15Z')).toBe('4294967295');
    expect(() => t.convert('2106-02-07T06:28:16Z')).toThrow(/outside what the store holds/);
    expect(() => t.convert('1970-01-01T00:00:00+01:00')).toThrow(/outside what the store holds/);
  });
});

describe('RowEncoder', () => {
  it('makes one row per line with severity, service, attributes, Kafka coordinates and place in the record', () => {
    const e = new RowEncoder();
    e.add(
      rec(
        [
          { ts: '2026-11-23T16:00:00.000000001Z', stream: 'stdout', msg: 'ERROR disk full' },
          { ts: '2026-11-23T16:00:00.000000002Z', stream: 'stderr', msg: '{"level":"warn","user":"x","n":2}' },
          { ts: '2026-11-23T16:00:00.000000003Z', stream: 'stdout', msg_b64: Buffer.from([0xff, 0x09]).toString('base64') },
        ],
        { 'com.docker.compose.service': 'api' },
      ),
      { topic: 'shiplog.logs', partition: 4, offset: '77' },
    );
    expect(e.rows).toBe(3);
    const rows = e.take().toString('latin1').split('\n').filter(Boolean).map((r) => r.split('\t'));
    expect(rows).toHaveLength(3);
    const [a, b, c] = rows as [string[], string[], string[]];
    expect(a.slice(0, 5)).toEqual(['1795449600.000000001', 'ERROR', '17', 'api', 'ERROR disk full']);
    expect(a[5]).toContain("'container.name':'api-1'");
    expect(a[5]).toContain("'service.name':'api'");
    expect(a[6]).toBe("{'log.iostream':'stdout'}");
    expect(a.slice(7)).toEqual(['shiplog.logs', '4', '77', '0']);
    expect(b.slice(1, 3)).toEqual(['WARN', '13']);
    // RecordLine: the line's place in its record.
    expect(rows.map((r) => r[10])).toEqual(['0', '1', '2']);
    expect(b[6]).toBe("{'log.iostream':'stderr','level':'warn','user':'x','n':'2'}");
    // Binary line: the exact bytes, TSV-escaped.
    expect(Buffer.from(c[4] as string, 'latin1')).toEqual(Buffer.from([0xff, 0x5c, 0x74]));
    expect(c[6]).toContain("'log.encoding':'binary'");
  });

  it('honours shiplog.parse=none', () => {
    const e = new RowEncoder();
    e.add(rec([{ ts: '2026-11-23T16:00:00Z', stream: 'stdout', msg: 'ERROR x' }], { 'shiplog.parse': 'none' }), { topic: 't', partition: 0, offset: '0' });
    expect(e.take().toString().split('\t').slice(1, 3)).toEqual(['', '0']);
  });
});
