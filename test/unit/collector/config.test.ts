import { describe, expect, it } from 'vitest';
import { loadCollectorConfig } from '../../../collector/config.js';
import { ConfigError } from '../../../lib/errors.js';

describe('collector config', () => {
  it('defaults to the embedded engine under SHIPLOG_DATA_DIR', () => {
    const c = loadCollectorConfig({ SHIPLOG_KAFKA_BROKERS: 'k:9092', SHIPLOG_DATA_DIR: '/var/lib/shiplog', SHIPLOG_API_TOKEN: 't' });
    expect(c.storage).toEqual({ kind: 'chdb', path: '/var/lib/shiplog/chdb', database: 'shiplog' });
    expect(c.http.port).toBe(9880);
    expect(c.retentionDays).toBe(30);
  });

  it('uses a ClickHouse server when SHIPLOG_CLICKHOUSE_URL is set', () => {
    const c = loadCollectorConfig({ SHIPLOG_KAFKA_BROKERS: 'k:9092', SHIPLOG_CLICKHOUSE_URL: 'http://u:p@ch:8123', SHIPLOG_CLICKHOUSE_CLUSTER: 'logs', SHIPLOG_HTTP_ADDRESS: '127.0.0.1' });
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

  it('refuses an open API on a non-loopback address unless allowed on purpose, naming both settings', () => {
    const base = { SHIPLOG_KAFKA_BROKERS: 'k:1' };
    for (const address of ['0.0.0.0', '::', '10.1.2.3', 'myhost']) {
      expect(() => loadCollectorConfig({ ...base, SHIPLOG_HTTP_ADDRESS: address })).toThrow(/SHIPLOG_HTTP_ADDRESS: .* SHIPLOG_API_TOKEN is not set/);
    }
    expect(() => loadCollectorConfig(base)).toThrow(/SHIPLOG_HTTP_ADDRESS: 0\.0\.0\.0/);
    for (const address of ['127.0.0.1', '127.9.9.9', '::1', 'localhost']) expect(loadCollectorConfig({ ...base, SHIPLOG_HTTP_ADDRESS: address }).http.address).toBe(address);
    expect(loadCollectorConfig({ ...base, SHIPLOG_API_TOKEN: 'x' }).http.address).toBe('0.0.0.0');
    expect(loadCollectorConfig({ ...base, SHIPLOG_API_ALLOW_OPEN: 'true' }).http.address).toBe('0.0.0.0');
    // `shiplog up` passes its own default: loopback.
    expect(loadCollectorConfig(base, { httpAddress: '127.0.0.1' }).http.address).toBe('127.0.0.1');
  });

  it('refuses a cluster without a server', () => {
    expect(() => loadCollectorConfig({ SHIPLOG_KAFKA_BROKERS: 'k:1', SHIPLOG_CLICKHOUSE_CLUSTER: 'c' })).toThrow(/SHIPLOG_CLICKHOUSE_CLUSTER/);
  });
});
