/**
 * The ingest path the Kafka consumer and `shiplog up` share, in process, against a fake store
 * that keeps a deduplication token once, refuses rows holding a marker as the engine refuses
 * bad data, and can be down. What must hold: every line stored once or set apart with a reason,
 * never both and never neither; what the store held already is skipped; a retried batch is
 * stored once; the metrics state learns only of stored samples.
 */
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ingest, type Incoming, type IngestContext, type IngestTarget, type Rejected } from '../../../../collector/ingest/ingest.js';
import { LOGS, STATS } from '../../../../collector/ingest/kinds.js';
import { createCollectorMetrics } from '../../../../collector/metrics.js';
import type { CadvisorState } from '../../../../collector/metrics/cadvisor.js';
import { LOG_INSERT_COLUMNS, STATS_INSERT_COLUMNS } from '../../../../collector/store/schema.js';
import { StorageError, type LogStore } from '../../../../collector/store/store.js';
import { createLogger } from '../../../../lib/logger.js';
import type { LogRecord, StatsRecord } from '../../../../lib/records.js';

const MARK = 'REFUSE-ME';

/** An engine stand-in: tokens deduplicate, a row with MARK is refused (the whole insert), `down` fails as unreachable. */
class FakeStore implements LogStore {
  readonly kind = 'chdb';
  readonly database = 'shiplog';
  readonly rows = new Map<string, string[]>();
  readonly tokens = new Set<string>();
  inserts = 0;
  down = false;
  exec = async () => undefined;
  query = async <T,>() => [] as T[];
  queryWithStats = async <T,>() => ({ rows: [] as T[], rowsRead: 0 });
  ping = async () => undefined;
  close = async () => undefined;
  async insertTsv(table: string, _columns: readonly string[], data: Buffer, token: string): Promise<void> {
    this.inserts++;
    if (this.down) throw new StorageError('connection refused');
    const rows = data.toString().split('\n').filter((r) => r !== '');
    if (rows.some((r) => r.includes(MARK) || r === 'unstorable')) throw new StorageError('Code: 27. CANNOT_PARSE_INPUT_ASSERTION_FAILED', undefined, 'data');
    if (this.tokens.has(token)) return;
    this.tokens.add(token);
    this.rows.set(table, [...(this.rows.get(table) ?? []), ...rows]);
  }
  column(table: string, columns: readonly string[], name: string): string[] {
    const i = columns.indexOf(name);
    return (this.rows.get(table) ?? []).map((r) => r.split('\t')[i] as string);
  }
}

function setup(validate = true, faultText?: string) {
  const store = new FakeStore();
  const rejected: Rejected[] = [];
  const target: IngestTarget = {
    store,
    deadLetterPlace: 'the test',
    run: (_what, op) => op(),
    reject: async (r) => {
      rejected.push(...r);
    },
  };
  const stats: StatsRecord[] = [];
  const containers = { onStats: (r: StatsRecord) => stats.push(r), onEvent: () => undefined } as unknown as CadvisorState;
  const metrics = createCollectorMetrics(new Registry(), { storageUp: () => true }, ['t']);
  const ctx: IngestContext = { metrics, log: createLogger('test', 'silent'), containers, maxRecordBytes: 1024 * 1024, validate, faultText };
  return { store, rejected, target, ctx, stats, metrics };
}

const record = (msgs: string[], n = 0): LogRecord => ({
  v: 1,
  type: 'logs',
  host: 'h1',
  container: { id: 'c'.repeat(64), name: 'api-1', image: 'api:2', labels: {} },
  lines: msgs.map((msg, i) => ({ ts: ts(n, i), stream: 'stdout', msg })),
  cursor: { stdout: { ts: ts(n, msgs.length - 1), n: 1 } },
});
const ts = (n: number, i: number) => `2026-11-23T16:00:00.${String(n * 1000 + i).padStart(9, '0')}Z`;
const incoming = (offset: number, value: unknown): Incoming => ({ offset: String(offset), key: Buffer.from('k'), value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)) });
const bodies = (s: FakeStore) => s.column('otel_logs', LOG_INSERT_COLUMNS, 'Body');

describe('ingest (the path shared by the Kafka consumer and shiplog up)', () => {
  it('stores the valid records and sets apart the undecodable ones with their reason', async () => {
    const { store, rejected, target, ctx } = setup();
    const r = await ingest(LOGS, {
      topic: 't', partition: 3, storedUpTo: null, tokenBase: 't:3',
      records: [incoming(10, record(['a', 'b'])), incoming(11, 'not json'), incoming(12, { v: 1, type: 'logs' }), { offset: '13', key: null, value: null }, incoming(14, record(['c'], 1))],
    }, target, ctx);
    expect(bodies(store)).toEqual(['a', 'b', 'c']);
    expect(rejected.map((x) => [x.offset, x.reason])).toEqual([['11', 'not_json'], ['12', 'schema'], ['13', 'empty']]);
    expect(r).toEqual({ skipped: 0, rows: 3, refused: 0, rejected: 3 });
    expect([...store.tokens]).toEqual(['t:3:10-14']);
  });

  it('does not validate records of its own agent when told so, and still rejects what is not JSON', async () => {
    const { store, rejected, target, ctx } = setup(false);
    await ingest(LOGS, { topic: 't', partition: 0, storedUpTo: null, tokenBase: 'x', records: [incoming(1, record(['a'])), incoming(2, '{')] }, target, ctx);
    expect(bodies(store)).toEqual(['a']);
    expect(rejected.map((x) => x.reason)).toEqual(['not_json']);
  });

  it('skips records the store holds, and of the last one only the lines it holds', async () => {
    const { store, target, ctx } = setup();
    const r = await ingest(LOGS, {
      topic: 't', partition: 0, storedUpTo: { offset: 5n, line: 1 }, tokenBase: 't:0',
      records: [incoming(4, record(['old'])), incoming(5, record(['s0', 's1', 'new2', 'new3'])), incoming(6, record(['new4'], 1))],
    }, target, ctx);
    expect(bodies(store)).toEqual(['new2', 'new3', 'new4']);
    expect(r.skipped).toBe(1);
    expect(store.column('otel_logs', LOG_INSERT_COLUMNS, 'RecordLine')).toEqual(['2', '3', '0']);
  });

  it('stores a retried batch once (same offsets, same token), and throws while the store is down', async () => {
    const { store, target, ctx } = setup();
    const batch = { topic: 't', partition: 0, storedUpTo: null, tokenBase: 't:0', records: [incoming(1, record(['a', 'b']))] };
    store.down = true;
    await expect(ingest(LOGS, batch, target, ctx)).rejects.toThrow(/connection refused/);
    store.down = false;
    await ingest(LOGS, batch, target, ctx);
    await ingest(LOGS, batch, target, ctx);
    expect(bodies(store)).toEqual(['a', 'b']);
  });

  it('sets apart each line the store refuses, alone, as a record of that line, and stores every other line once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.tuple(fc.string({ maxLength: 20 }), fc.boolean()), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 }), async (recs) => {
        const { store, rejected, target, ctx } = setup(true, MARK);
        const msgs = recs.map((lines, k) => lines.map(([text, bad], i) => `${k}.${i}:${bad ? MARK : ''}${text}`));
        const r = await ingest(LOGS, { topic: 't', partition: 0, storedUpTo: null, tokenBase: 't:0', records: msgs.map((m, k) => incoming(k, record(m, k))) }, target, ctx);
        const stored = bodies(store).map((b) => b.replace(/\\(.)/g, '$1'));
        const setApart = rejected.map((x) => {
          const one = JSON.parse((x.value as Buffer).toString()) as LogRecord;
          expect(x.reason).toBe('unstorable');
          expect(one.lines).toHaveLength(1);
          expect(`${x.offset}.${x.line}`).toBe((one.lines[0]?.msg ?? '').split(':')[0]);
          return one.lines[0]?.msg;
        });
        const all = msgs.flat();
        expect([...stored, ...setApart].sort()).toEqual([...all].sort());
        expect(setApart.sort()).toEqual(all.filter((m) => m.includes(MARK)).sort());
        expect(r.refused).toBe(setApart.length);
      }),
      { numRuns: 60 },
    );
  });

  it('tells the metrics state of stored stats samples only, and sets a refused sample apart', async () => {
    const { store, rejected, target, ctx, stats } = setup();
    const sample = (name: string, ts: string): StatsRecord => ({
      v: 1, type: 'stats', host: 'h1', ts,
      container: { id: 'd'.repeat(64), name, image: 'img', labels: {} },
      cpu: { total_ns: 1, user_ns: 1, system_ns: 0, periods: 0, throttled_periods: 0, throttled_ns: 0 },
      memory: { usage: 1, working_set: 1, rss: 1, cache: 0, limit: 2 }, networks: {}, blkio: { read_bytes: 0, write_bytes: 0 }, pids: 1,
    });
    const r = await ingest(STATS, {
      topic: 't', partition: 2, storedUpTo: { offset: 1n, line: Infinity }, tokenBase: 't:2',
      records: [incoming(1, sample('old', '2026-11-23T16:00:00Z')), incoming(2, sample('web', '2026-11-23T16:00:01Z')), incoming(3, sample(MARK, '2026-11-23T16:00:02Z')), incoming(4, sample('db', '2026-11-23T16:00:03Z')), incoming(5, sample('bad', 'yesterday'))],
    }, target, ctx);
    expect(store.column('container_stats', STATS_INSERT_COLUMNS, 'ContainerName')).toEqual(['web', 'db']);
    expect(stats.map((s) => s.container.name)).toEqual(['web', 'db']);
    expect(rejected.map((x) => [x.offset, x.reason])).toEqual([['5', 'schema'], ['3', 'unstorable']]);
    expect(r).toEqual({ skipped: 1, rows: 3, refused: 1, rejected: 1 });
  });
});
