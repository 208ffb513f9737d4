import { describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../../../agent/config.js';
import { ConfigError } from '../../../lib/errors.js';

describe('agent config', () => {
  it('has working defaults', () => {
    const c = loadAgentConfig({ SHIPLOG_KAFKA_BROKERS: 'k1:9092,k2:9092' }, { requireKafka: true });
    expect(c.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(c.kafka.topicPrefix).toBe('shiplog');
    expect(c.http.port).toBe(9881);
    expect(c.docker.socketPath).toBe('/var/run/docker.sock');
    expect(c.maxLineBytes).toBe(2 * 1024 * 1024);
  });

  it('reports every bad setting at once, by name, with the allowed values', () => {
    let err: unknown;
    try {
      loadAgentConfig(
        { SHIPLOG_KAFKA_BROKERS: 'x', SHIPLOG_AGENT_PORT: 'abc', SHIPLOG_KAFKA_COMPRESSION: 'lzma', SHIPLOG_BATCH_LINGER: 'soon', DOCKER_HOST: 'ftp://h' },
        { requireKafka: true },
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).toContain('SHIPLOG_KAFKA_BROKERS: "x" is not host:port');
    expect(problems.some((p) => p.startsWith('SHIPLOG_AGENT_PORT:'))).toBe(true);
    expect(problems).toContain('SHIPLOG_KAFKA_COMPRESSION: "lzma" is not allowed (allowed: gzip, zstd, none)');
    expect(problems.some((p) => p.startsWith('SHIPLOG_BATCH_LINGER:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('DOCKER_HOST:'))).toBe(true);
    expect(problems).toHaveLength(5);
  });

  it('requires brokers for the agent', () => {
    expect(() => loadAgentConfig({}, { requireKafka: true })).toThrow(/SHIPLOG_KAFKA_BROKERS: not set/);
  });

  it('parses sizes and durations', () => {
    const c = loadAgentConfig({ SHIPLOG_KAFKA_BROKERS: 'k:1', SHIPLOG_RECORD_BYTES: '64KiB', SHIPLOG_BATCH_LINGER: '2s', SHIPLOG_MAX_LINE_BYTES: '1MiB' }, { requireKafka: true });
    expect(c.recordBytes).toBe(65536);
    expect(c.lingerMs).toBe(2000);
    expect(c.maxLineBytes).toBe(1048576);
  });

  it('refuses a line limit that cannot fit in a Kafka message', () => {
    expect(() => loadAgentConfig({ SHIPLOG_KAFKA_BROKERS: 'k:1', SHIPLOG_MAX_LINE_BYTES: '16MiB' }, { requireKafka: true })).toThrow(/SHIPLOG_MAX_LINE_BYTES/);
  });
});
