/**
 * SHIPLOG_CLICKHOUSE_CLUSTER's DDL read by the real engine's parser (chDB): every statement
 * a collector would run on a cluster (ON CLUSTER, ReplicatedMergeTree, the Distributed table,
 * retention) parses, and keeps its cluster clauses when the engine formats it back. The
 * statements cannot run here (a replicated table needs ClickHouse Keeper); no multi-node
 * ClickHouse was available to run them on, as the README says.
 */
import { Session } from 'chdb';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, bootstrapStatements, retainedTables, retentionStatement } from '../../../collector/store/schema.js';
import { tempDir } from '../../helpers/agent-process.js';

const dir = tempDir('shiplog-ddl-');
const session = new Session(dir.dir);
afterAll(() => {
  session.cleanup();
  dir.cleanup();
});

/** The engine's own formatting of `sql`, or its parse error. */
function format(sql: string): string {
  const out = session.queryBind('SELECT formatQuery({q:String}) AS f', { q: sql }, 'JSONEachRow');
  return (JSON.parse(out) as { f: string }).f;
}

describe('cluster DDL', () => {
  const o = { database: 'shiplog', retentionDays: 30, cluster: 'logs-cluster', replicated: true };
  const statements = [...bootstrapStatements(o), ...MIGRATIONS.flatMap((m) => m.statements(o)), ...retainedTables(o).map((t) => retentionStatement(o, t))];

  it('every statement parses in the engine and keeps ON CLUSTER, Replicated and Distributed', () => {
    expect(statements.length).toBeGreaterThan(10);
    for (const sql of statements) {
      const f = format(sql);
      expect(f, sql).not.toBe('');
      // Every DDL statement runs on every node.
      if (/^(CREATE|ALTER|DROP|RENAME)/.test(sql)) expect(f, sql).toMatch(/ON CLUSTER `?logs-cluster`?/);
    }
    const all = statements.map(format).join('\n');
    expect(all).toMatch(/ENGINE = ReplicatedMergeTree\('\/clickhouse\/tables\/\{shard\}\/shiplog\/otel_logs_local', '\{replica\}'\)/);
    expect(all).toMatch(/ENGINE = Distributed\(`?logs-cluster`?, `?shiplog`?, `?otel_logs_local`?, cityHash64\(ContainerId\)\)/);
    // Single-node engines must not slip into cluster DDL.
    expect(all).not.toMatch(/ENGINE = MergeTree/);
  });

  it('the parser is a real check: broken DDL is refused', () => {
    expect(() => format('CREATE TABLE t ON CLUSTER (x UInt8) ENGINE = MergeTree ORDER BY x')).toThrow(/Syntax error/);
  });
});
