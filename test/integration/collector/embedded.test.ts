/**
 * Agent → Kafka → collector → embedded chDB, against the real dockerd, broker and engine:
 * every line lands once and byte-identical; a collector killed between insert and commit
 * stores nothing twice after its restart.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { startCollector, tempDir } from '../../helpers/agent-process.js';
import { runCleanups } from '../../helpers/cleanup.js';
import { groupCaughtUp, waitFor } from '../../helpers/kafka-read.js';
import { shipContainers, type Shipped } from '../../helpers/ship.js';
import { queryEmbedded } from '../../helpers/store.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  await runCleanups(cleanups);
});

const hex = (b: Buffer) => b.toString('hex').toUpperCase();

describe('collector with the embedded engine', () => {
  it('stores every line exactly once, byte-identical, with container fields and severity', async () => {
    const shipped: Shipped = await shipContainers(
      [
        {
          logDriver: 'local',
          script: [
            `seq 1 20000 | sed 's/^/line-/'`,
            `seq 1 3000 | sed 's/^/ERROR err-/' >&2`,
            `printf '\\033[31mred\\033[0m\\n'`,
            `printf 'crlf\\r\\n'`,
            `printf 'tab\\there back\\\\slash\\n'`,
            `printf 'nul\\000byte\\n'`,
            `printf '\\377\\376 invalid\\n'`,
            `printf '\\n'`,
            `printf '{"level":"warn","msg":"json","user":"ann"}\\n'`,
            `head -c 1048576 /dev/zero | tr '\\0' m; echo`,
          ].join('; '),
        },
        {
          script: `echo start; printf 'Exception in thread "main" java.lang.RuntimeException: x\\n\\tat a.B.c(B.java:1)\\n'; echo end`,
          labels: { 'shiplog.multiline': 'java' },
        },
      ],
      23_008 + 3,
    );
    cleanups.push(shipped.cleanup);
    const [a, b] = shipped.containers as [{ id: string; name: string }, { id: string; name: string }];
    const expectA = [
      ...Array.from({ length: 20000 }, (_, i) => ['stdout', Buffer.from(`line-${i + 1}`)] as const),
      ...Array.from({ length: 3000 }, (_, i) => ['stderr', Buffer.from(`ERROR err-${i + 1}`)] as const),
      ['stdout', Buffer.from('\x1b[31mred\x1b[0m')],
      ['stdout', Buffer.from('crlf\r')],
      ['stdout', Buffer.from('tab\there back\\slash')],
      ['stdout', Buffer.from('nul\0byte')],
      ['stdout', Buffer.from([0xff, 0xfe, ...Buffer.from(' invalid')])],
      ['stdout', Buffer.alloc(0)],
      ['stdout', Buffer.from('{"level":"warn","msg":"json","user":"ann"}')],
      ['stdout', Buffer.alloc(1048576, 'm')],
    ] as const;

    const data = tempDir('shiplog-collector-');
    cleanups.push(data.cleanup);
    const collector = await startCollector({ SHIPLOG_DATA_DIR: data.dir, SHIPLOG_KAFKA_TOPIC_PREFIX: shipped.prefix, SHIPLOG_COLLECTOR_GROUP: `g-${randomUUID()}` });
    await waitFor(async () => (await collector.metric('shiplog_collector_rows_inserted_total')) >= expectA.length + 3, 60_000, 'rows inserted');
    const ready = await fetch(`${collector.url}/readyz`);
    expect(ready.status).toBe(200);
    await collector.stop();

    const path = `${data.dir}/chdb`;
    const rows = await queryEmbedded<{ c: string; s: string; b: string; sev: string; svc: string; host: string; name: string; attrs: Record<string, string> }>(
      path,
      `SELECT ContainerId AS c, Stream AS s, hex(Body) AS b, SeverityText AS sev, ServiceName AS svc, HostName AS host, ContainerName AS name, LogAttributes AS attrs FROM shiplog.otel_logs`,
    );
    const rowsA = rows.filter((r) => r.c === a.id);
    expect(rowsA).toHaveLength(expectA.length);
    const got = rowsA.map((r) => `${r.s}:${r.b}`).sort();
    const want = expectA.map(([s, body]) => `${s}:${hex(body)}`).sort();
    expect(got).toEqual(want);
    expect(rowsA.filter((r) => r.sev === 'ERROR')).toHaveLength(3000);
    const json = rowsA.find((r) => r.attrs.user === 'ann');
    expect(json?.sev).toBe('WARN');
    expect(rowsA[0]?.name).toBe(a.name);
    expect(rowsA[0]?.svc).toBe(a.name);
    const rowsB = rows.filter((r) => r.c === b.id).map((r) => Buffer.from(r.b, 'hex').toString());
    expect(rowsB.sort()).toEqual(['Exception in thread "main" java.lang.RuntimeException: x\n\tat a.B.c(B.java:1)', 'end', 'start']);
  });

  it('killed between insert and commit, then restarted: row count equals line count, no duplicates', async () => {
    const n = 8;
    const shipped = await shipContainers(
      Array.from({ length: n }, (_, k) => ({ script: `seq 1 5000 | sed 's/^/c${k}-/'` })),
      n * 5000,
      { SHIPLOG_KAFKA_PARTITIONS: '3', SHIPLOG_RECORD_BYTES: '16KiB' },
    );
    cleanups.push(shipped.cleanup);
    const data = tempDir('shiplog-collector-');
    cleanups.push(data.cleanup);
    const env = {
      SHIPLOG_DATA_DIR: data.dir,
      SHIPLOG_KAFKA_TOPIC_PREFIX: shipped.prefix,
      SHIPLOG_COLLECTOR_GROUP: `g-${randomUUID()}`,
      SHIPLOG_COLLECTOR_BATCH_BYTES: '64KiB',
    };
    // Dies right after its 3rd insert, before committing it.
    const first = await startCollector({ ...env, SHIPLOG_FAULT_KILL_AFTER_INSERTS: '3' });
    await first.exited;
    expect(first.proc.signalCode).toBe('SIGKILL');
    const second = await startCollector(env);
    await waitFor(async () => (await second.metric('shiplog_collector_rows_inserted_total')) + 0 > 0, 60_000, 'progress');
    // The restarted collector saw the uncommitted batch in storage and skipped it.
    await waitFor(async () => (await second.metric('shiplog_collector_records_already_stored_total')) > 0, 60_000, 'redelivered records skipped');
    await waitFor(() => groupCaughtUp(env.SHIPLOG_COLLECTOR_GROUP, shipped.topic), 60_000, 'the group to commit every record');
    await second.stop();
    const [r] = await queryEmbedded<{ total: string; uniq: string }>(
      `${data.dir}/chdb`,
      'SELECT toString(count()) AS total, toString(uniqExact(ContainerId, Stream, Body)) AS uniq FROM shiplog.otel_logs',
    );
    expect(r).toEqual({ total: String(n * 5000), uniq: String(n * 5000) });
  });
});
