/** Kafka TLS/SASL settings as read at start-up, and which connection failures stop start-up. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseError } from '@clickhouse/client';
import { loadCollectorConfig } from '../../../collector/config.js';
import { clickhouseSettingProblem } from '../../../collector/store/clickhouse-store.js';
import { StorageError } from '../../../collector/store/store.js';
import { EnvReader } from '../../../lib/env-config.js';
import { ConfigError, KafkaError } from '../../../lib/errors.js';
import { connectionHint, readKafkaSecurity, securityProblem } from '../../../lib/kafka-security.js';

let dir: string;
const read = (env: Record<string, string>) => {
  const r = new EnvReader(env);
  const s = readKafkaSecurity(r);
  return { s, problems: r.problems };
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shiplog-tls-'));
  execFileSync('bash', [resolve(import.meta.dirname, '../../env/tls-certs.sh'), dir]);
  writeFileSync(join(dir, 'not-pem.txt'), 'hello');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Kafka security settings', () => {
  it('none by default: plaintext, no SASL', () => {
    expect(read({})).toEqual({ s: {}, problems: [] });
  });

  it('TLS with a CA, a client certificate, SCRAM', () => {
    const { s, problems } = read({
      SHIPLOG_KAFKA_TLS: 'true',
      SHIPLOG_KAFKA_TLS_CA: join(dir, 'ca.pem'),
      SHIPLOG_KAFKA_TLS_CERT: join(dir, 'client.pem'),
      SHIPLOG_KAFKA_TLS_KEY: join(dir, 'client.key'),
      SHIPLOG_KAFKA_SASL_MECHANISM: 'scram-sha-512',
      SHIPLOG_KAFKA_SASL_USERNAME: 'u',
      SHIPLOG_KAFKA_SASL_PASSWORD: 'p',
    });
    expect(problems).toEqual([]);
    expect(s.tls?.ca).toContain('BEGIN CERTIFICATE');
    expect(s.tls?.key).toContain('PRIVATE KEY');
    expect(s.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'u', password: 'p' });
  });

  it('each unusable setting is named', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ SHIPLOG_KAFKA_TLS_CA: join(dir, 'ca.pem') }, /^SHIPLOG_KAFKA_TLS_CA: set, but SHIPLOG_KAFKA_TLS is not true/],
      [{ SHIPLOG_KAFKA_TLS: 'true', SHIPLOG_KAFKA_TLS_CA: join(dir, 'nope.pem') }, /^SHIPLOG_KAFKA_TLS_CA: cannot read .*nope\.pem/],
      [{ SHIPLOG_KAFKA_TLS: 'true', SHIPLOG_KAFKA_TLS_CA: join(dir, 'not-pem.txt') }, /^SHIPLOG_KAFKA_TLS_CA: .* holds no PEM certificate/],
      [{ SHIPLOG_KAFKA_TLS: 'true', SHIPLOG_KAFKA_TLS_CERT: join(dir, 'client.pem') }, /^SHIPLOG_KAFKA_TLS_CERT: a client certificate needs its key/],
      // A key that is not the certificate's.
      [{ SHIPLOG_KAFKA_TLS: 'true', SHIPLOG_KAFKA_TLS_CERT: join(dir, 'client.pem'), SHIPLOG_KAFKA_TLS_KEY: join(dir, 'other.key') }, /^SHIPLOG_KAFKA_TLS_KEY: .*key values mismatch/],
      [{ SHIPLOG_KAFKA_SASL_MECHANISM: 'scram-sha-1' }, /^SHIPLOG_KAFKA_SASL_MECHANISM: "scram-sha-1" is not allowed/],
      [{ SHIPLOG_KAFKA_SASL_MECHANISM: 'scram-sha-256', SHIPLOG_KAFKA_SASL_USERNAME: 'u' }, /^SHIPLOG_KAFKA_SASL_PASSWORD: not set/],
      [{ SHIPLOG_KAFKA_SASL_PASSWORD: 'p' }, /^SHIPLOG_KAFKA_SASL_MECHANISM: a SASL user or password is set, but no mechanism/],
    ];
    for (const [env, problem] of cases) {
      const { problems } = read(env);
      expect(problems.length, JSON.stringify(env)).toBeGreaterThan(0);
      expect(problems.some((p) => problem.test(p)), `${JSON.stringify(env)}: ${problems.join(' | ')}`).toBe(true);
    }
  });

  it('the ClickHouse CA needs an https URL and a readable certificate', () => {
    const base = { SHIPLOG_KAFKA_BROKERS: 'k:9092', SHIPLOG_HTTP_ADDRESS: '127.0.0.1' };
    expect(loadCollectorConfig({ ...base, SHIPLOG_CLICKHOUSE_URL: 'https://ch:8443', SHIPLOG_CLICKHOUSE_TLS_CA: join(dir, 'ca.pem') }).storage).toMatchObject({ kind: 'clickhouse', tlsCa: expect.stringContaining('BEGIN CERTIFICATE') });
    expect(() => loadCollectorConfig({ ...base, SHIPLOG_CLICKHOUSE_URL: 'http://ch:8123', SHIPLOG_CLICKHOUSE_TLS_CA: join(dir, 'ca.pem') })).toThrow(/SHIPLOG_CLICKHOUSE_TLS_CA: set, but SHIPLOG_CLICKHOUSE_URL is http:/);
    expect(() => loadCollectorConfig({ ...base, SHIPLOG_CLICKHOUSE_TLS_CA: join(dir, 'ca.pem') })).toThrow(/SHIPLOG_CLICKHOUSE_TLS_CA: needs an https/);
    expect(() => loadCollectorConfig({ ...base, SHIPLOG_CLICKHOUSE_URL: 'https://ch:8443', SHIPLOG_CLICKHOUSE_TLS_CA: join(dir, 'not-pem.txt') })).toThrow(/SHIPLOG_CLICKHOUSE_TLS_CA: .* holds no PEM/);
  });
});

describe('which Kafka failures stop start-up', () => {
  const wrapped = (e: Error) => new KafkaError('cannot start the Kafka producer', new kafkajs.KafkaJSNumberOfRetriesExceeded(e, { retryCount: 5, retryTime: 1000 }));

  it('refused SASL credentials, through the wrappers', () => {
    const p = securityProblem(wrapped(new (kafkajs.KafkaJSSASLAuthenticationError as unknown as new (m: string) => Error)('SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512')));
    expect(p).toBeInstanceOf(ConfigError);
    expect(p?.message).toMatch(/SHIPLOG_KAFKA_SASL_USERNAME\/SHIPLOG_KAFKA_SASL_PASSWORD: the brokers refused them/);
  });

  it("a broker certificate that does not verify; a client certificate the broker refuses", () => {
    expect(securityProblem(wrapped(new kafkajs.KafkaJSConnectionError('Connection error: self-signed certificate in certificate chain', { code: 'SELF_SIGNED_CERT_IN_CHAIN' })))?.message).toMatch(/SHIPLOG_KAFKA_TLS_CA/);
    expect(securityProblem(wrapped(new kafkajs.KafkaJSConnectionError("Hostname/IP does not match certificate's altnames", { code: 'ERR_TLS_CERT_ALTNAME_INVALID' })))?.message).toMatch(/SHIPLOG_KAFKA_TLS_CA/);
    expect(securityProblem(wrapped(new kafkajs.KafkaJSConnectionError('Connection error: tlsv13 alert certificate required', { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' })))?.message).toMatch(/SHIPLOG_KAFKA_TLS_CERT/);
  });

  it('a listener that does not match the settings: retried, with a hint', () => {
    // What kafkajs says here (seen against the test cluster's listeners).
    const closed = wrapped(new kafkajs.KafkaJSConnectionError('Closed connection'));
    expect(securityProblem(closed)).toBeUndefined();
    expect(connectionHint(closed, {})).toMatch(/SHIPLOG_KAFKA_TLS=true/);
    const tlsOnPlain = wrapped(new kafkajs.KafkaJSConnectionError('Connection error: Client network socket disconnected before secure TLS connection was established', { code: 'ECONNRESET' }));
    expect(securityProblem(tlsOnPlain)).toBeUndefined();
    expect(connectionHint(tlsOnPlain, { tls: {} })).toMatch(/TLS listener/);
    expect(connectionHint(wrapped(new kafkajs.KafkaJSConnectionError('Connection error: connect ECONNREFUSED', { code: 'ECONNREFUSED' })), {})).toBeUndefined();
  });

  it("the store's failures are named as the store's, Kafka's as Kafka's", () => {
    const tlsCause = Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    const store = new StorageError('ClickHouse at https://127.0.0.1:1: unable to verify the first certificate', tlsCause);
    expect(securityProblem(store)).toBeUndefined();
    expect(clickhouseSettingProblem(store)?.message).toMatch(/SHIPLOG_CLICKHOUSE_TLS_CA: the server's certificate does not verify/);
    const kafkaTls = wrapped(new kafkajs.KafkaJSConnectionError('Connection error: unable to verify the first certificate', { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }));
    expect(clickhouseSettingProblem(kafkaTls)).toBeUndefined();
    expect(securityProblem(kafkaTls)?.message).toMatch(/SHIPLOG_KAFKA_TLS_CA/);
    // ClickHouse's refusal of a user (code 516), as the client parses it.
    const auth = new StorageError('ClickHouse at https://127.0.0.1:1: refused', new ClickHouseError({ message: 'shiplog: Authentication failed', code: '516', type: 'AUTHENTICATION_FAILED' }));
    expect(clickhouseSettingProblem(auth)?.message).toMatch(/SHIPLOG_CLICKHOUSE_USER\/SHIPLOG_CLICKHOUSE_PASSWORD/);
    expect(clickhouseSettingProblem(new StorageError('ClickHouse at x: connect ECONNREFUSED', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })))).toBeUndefined();
  });

  it('a broker down or a leader moving is waited for, not a setting', () => {
    expect(securityProblem(wrapped(new kafkajs.KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092', { code: 'ECONNREFUSED' })))).toBeUndefined();
    expect(securityProblem(new kafkajs.KafkaJSError('This server is not the leader for that topic-partition', { retriable: true }))).toBeUndefined();
    expect(securityProblem('a string')).toBeUndefined();
  });
});
