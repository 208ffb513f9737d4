/**
 * Any character in a log line, a container label, a JSON attribute or an event attribute is
 * stored exactly by the real engine (chDB): property runs over random strings rich in quotes,
 * backslashes, tabs, newlines, NUL and non-ASCII, read back as bytes. A `'` in a JSON line or a
 * label once made the store refuse the insert (the Map columns were escaped twice), which
 * halted ingestion.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogRecord } from '../../../agent/ship/record.js';
import { eventRow, type EventRecord } from '../../../collector/ingest/aux-rows.js';
import { RowEncoder } from '../../../collector/ingest/encode-rows.js';
import type { ChdbStore } from '../../../collector/store/chdb-store.js';
import { EVENTS_INSERT_COLUMNS, LOG_INSERT_COLUMNS } from '../../../collector/store/schema.js';
import { tempDir } from '../../helpers/agent-process.js';
import { openMigratedStore } from '../../helpers/store.js';

const dir = tempDir('shiplog-exact-');
let store: ChdbStore;

beforeAll(async () => {
  store = await openMigratedStore(dir.dir);
});

afterAll(async () => {
  await store?.close();
  dir.cleanup();
});

/** Strings made mostly of the characters that break escaping, plus any Unicode. */
const hostile = fc.oneof(
  fc.string({ unit: fc.constantFrom("'", '\\', '\t', '\n', '\r', '\0', '"', '{', '}', ':', ',', '=', '日', 'é', '\u2028', '😀', 'a', ' '), maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);
const key = hostile.filter((k) => k.length > 0);
/** What a JS string becomes as UTF-8 (a lone surrogate cannot be UTF-8: it arrives as U+FFFD, in JSON as on the wire). */
const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex').toUpperCase();

let offset = 0;

describe('values stored exactly, whatever their characters', () => {
  it('labels, JSON attributes and bodies (property run, real engine)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.dictionary(key, hostile, { maxKeys: 4 }), fc.dictionary(key, hostile, { maxKeys: 4 }), hostile, async (labels, json, text) => {
        const off = offset++;
        const body = JSON.stringify({ level: 'info', ...json });
        const rec: LogRecord = {
          v: 1,
          type: 'logs',
          host: 'h',
          container: { id: 'a'.repeat(64), name: 'n', image: 'i', labels },
          lines: [
            { ts: '2026-11-23T16:00:00.000000001Z', stream: 'stdout', msg: body },
            { ts: '2026-11-23T16:00:00.000000002Z', stream: 'stderr', msg: text },
          ],
          cursor: { stdout: { ts: '2026-11-23T16:00:00.000000001Z', n: 1 } },
        };
        const enc = new RowEncoder();
        enc.add(rec, { topic: 'exact', partition: 0, offset: String(off) });
        await store.insertTsv('otel_logs', LOG_INSERT_COLUMNS, enc.take(), `exact-${off}`);
        const rows = await store.query<{ b: string; rk: string[]; rv: string[]; lk: string[]; lv: string[] }>(
          `SELECT hex(Body) AS b, arrayMap(x -> hex(x), mapKeys(ResourceAttributes)) AS rk, arrayMap(x -> hex(x), mapValues(ResourceAttributes)) AS rv,
                  arrayMap(x -> hex(x), mapKeys(LogAttributes)) AS lk, arrayMap(x -> hex(x), mapValues(LogAttributes)) AS lv
           FROM shiplog.otel_logs WHERE KafkaTopic = 'exact' AND KafkaOffset = {o:UInt64} ORDER BY RecordLine`,
          { o: off },
        );
        expect(rows).toHaveLength(2);
        const [j, t] = rows as [(typeof rows)[0], (typeof rows)[0]];
        expect(j.b).toBe(hex(body));
        expect(t.b).toBe(hex(text));
        // Every label, under container.label.<key>, with its exact value.
        const res = new Map(j.rk.map((k, i) => [k, j.rv[i]]));
        for (const [k, v] of Object.entries(labels)) expect(res.get(hex(`container.label.${k}`))).toBe(hex(v));
        // Every top-level JSON field as an attribute, strings as they are.
        const attrs = j.lk.map((k, i) => [k, j.lv[i]]);
        for (const [k, v] of Object.entries({ level: 'info', ...json })) expect(attrs).toContainEqual([hex(k), hex(v)]);
      }),
      { numRuns: 150 },
    );
  });

  it('event attributes (property run, real engine)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.dictionary(key, hostile, { maxKeys: 5 }), hostile, async (attributes, name) => {
        const off = offset++;
        const ev: EventRecord = { v: 1, type: 'event', host: 'h', container: { id: 'b'.repeat(64), name, image: 'i', labels: attributes }, action: 'die', time_nano: '1795449600000000001', exit_code: 3, attributes };
        await store.insertTsv('container_events', EVENTS_INSERT_COLUMNS, Buffer.from(eventRow(ev, { topic: 'exact', partition: 0, offset: String(off) })), `exact-ev-${off}`);
        const rows = await store.query<{ n: string; k: string[]; v: string[] }>(
          `SELECT hex(ContainerName) AS n, arrayMap(x -> hex(x), mapKeys(Attributes)) AS k, arrayMap(x -> hex(x), mapValues(Attributes)) AS v FROM shiplog.container_events WHERE KafkaTopic = 'exact' AND KafkaOffset = {o:UInt64}`,
          { o: off },
        );
        expect(rows).toHaveLength(1);
        const r = rows[0] as (typeof rows)[0];
        expect(r.n).toBe(hex(name));
        expect(new Map(r.k.map((k, i) => [k, r.v[i]]))).toEqual(new Map(Object.entries(attributes).map(([k, v]) => [hex(k), hex(v)])));
      }),
      { numRuns: 100 },
    );
  });

  it('the two lines of the issue: a JSON line with an apostrophe and a label with one', async () => {
    const off = offset++;
    const enc = new RowEncoder();
    const msg = '{"level":"info","msg":"can\'t connect","path":"C:\\\\Windows\\tx"}';
    enc.add(
      { v: 1, type: 'logs', host: 'h', container: { id: 'c'.repeat(64), name: 'n', image: 'i', labels: { owner: "o'brien" } }, lines: [{ ts: '2026-11-23T16:00:00Z', stream: 'stdout', msg }], cursor: { stdout: { ts: '2026-11-23T16:00:00Z', n: 1 } } },
      { topic: 'exact', partition: 0, offset: String(off) },
    );
    await store.insertTsv('otel_logs', LOG_INSERT_COLUMNS, enc.take(), `exact-${off}`);
    const [row] = await store.query<{ m: string; o: string; p: string; l: string }>(
      `SELECT LogAttributes['msg'] AS m, ResourceAttributes['container.label.owner'] AS o, LogAttributes['path'] AS p, SeverityText AS l FROM shiplog.otel_logs WHERE KafkaTopic = 'exact' AND KafkaOffset = {o:UInt64}`,
      { o: off },
    );
    expect(row).toEqual({ m: "can't connect", o: "o'brien", p: 'C:\\Windows\tx', l: 'INFO' });
  });
});
