import { describe, expect, it } from 'vitest';
import { loadCollectorConfig } from '../../../collector/config.js';
import { ConfigError } from '../../../lib/errors.js';

describe('collector config', () => {
  it('defaults to the embedded engine under SHIPLOG_DATA_DIR', () => {
    const c = loadCollectorConfig({ SHIPLOG_KAFKA_BROKERS: 'k:9092', SHIPLOG_DATA_DIR: '/var/lib/shiplog' });
    expect(c.storage).toEqual({ kind: 'chdb', path: '/var/lib/shiplog/chdb', database: 'shiplog' });
    expect(c.http.port).toBe(9880);
    expect(c.retentionDays).toBe(30);
  });

  it('uses a ClickHouse server when SHIPLOG_CLICKHOUSE_URL is set', () => {
    const c = loadCollectorConfig({ SHIPLOG_KAFKA_BROKERS: 'k:9092', SHIPLOG_CLICKHOUSE_URL: 'http://u:p@ch:8123', SHIPLOG_CLICKHOUSE_CLUSTER: 'logs' });
    expect(c.storage).toMatchObject({ kind: 'clickhouse', url: 'http://u:p@ch:8123', cluster: 'logs', database: 'shiplog' });
  });

  it('names every bad setting, and never prints a password', () => {
    let err: unknown;
    try {
      loadCollectorConfig({ SHIPLOG_CLICKHOUSE_URL: 'ftp://user:secret@x', SHIPLOG_RETENTION_DAYS: '0', SHIPLOG_CLICKHOUSE_DATABASE: 'drop table' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const p = (err as ConfigError).problems;
    expect(p.some((x) => x.startsWith('SHIPLOG_KAFKA_BROKERS: not set'))).toBe(true);
    expect(p.some((x) => x.startsWith('SHIPLOG_CLICKHOUSE_URL: protocol'))).toBe(true);
    expect(p.some((x) => x.startsWith('SHIPLOG_RETENTION_DAYS:'))).toBe(true);
    expect(p.some((x) => x.startsWith('SHIPLOG_CLICKHOUSE_DATABASE:'))).toBe(true);
    expect((err as Error).message).not.toContain('secret');
  });

  it('refuses a cluster without a server', () => {
    expect(() => loadCollectorConfig({ SHIPLOG_KAFKA_BROKERS: 'k:1', SHIPLOG_CLICKHOUSE_CLUSTER: 'c' })).toThrow(/SHIPLOG_CLICKHOUSE_CLUSTER/);
  });
});
