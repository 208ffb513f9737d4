import { describe, expect, it } from 'vitest';
import { MIGRATIONS, bootstrapStatements, retentionStatement } from '../../../../collector/store/schema.js';

describe('schema', () => {
  it('single node: MergeTree with a dedup window, TTL from the setting', () => {
    const sql = MIGRATIONS.flatMap((m) => m.statements({ database: 'shiplog', retentionDays: 14 })).join('\n');
    expect(sql).toContain('ENGINE = MergeTree');
    expect(sql).toContain('non_replicated_deduplication_window');
    expect(sql).toContain('toIntervalDay(14)');
    expect(sql).toContain('PARTITION BY toDate(Timestamp)');
    expect(sql).toContain('ORDER BY (ServiceName, ContainerName, Timestamp)');
    expect(sql).toContain('INDEX idx_body Body TYPE tokenbf_v1');
    expect(sql).not.toContain('ON CLUSTER');
  });

  it('cluster: ON CLUSTER, ReplicatedMergeTree local table and a Distributed otel_logs', () => {
    const o = { database: 'logs', retentionDays: 7, cluster: 'main', replicated: true };
    const sql = [...bootstrapStatements(o), ...MIGRATIONS.flatMap((m) => m.statements(o)), retentionStatement(o)].join('\n');
    expect(sql).toContain('CREATE DATABASE IF NOT EXISTS `logs` ON CLUSTER `main`');
    expect(sql).toContain("ReplicatedMergeTree('/clickhouse/tables/{shard}/logs/otel_logs_local', '{replica}')");
    expect(sql).toContain('ENGINE = Distributed(`main`, `logs`, `otel_logs_local`, cityHash64(ContainerId))');
    expect(sql).toContain('ALTER TABLE `logs`.`otel_logs_local` ON CLUSTER `main` MODIFY TTL');
  });
});
