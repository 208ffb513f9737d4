/**
 * How agents and collectors authenticate to a Kafka cluster: TLS (with the cluster's own CA and,
 * for mutual TLS, a client certificate) and SASL (PLAIN or SCRAM). Read once at start-up like
 * every setting; files are read and checked then, so a wrong path or a key that does not match
 * its certificate stops start-up naming the setting instead of failing at the first connection.
 *
 * A broker that refuses the credentials or a certificate that does not verify is a setting that
 * cannot work: `securityProblem` turns those failures into a ConfigError, so start-up stops with
 * one line naming what to change, instead of retrying for ever.
 */
import type { ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';
import type { EnvReader } from './env-config.js';
import { ConfigError, causes } from './errors.js';
import { checkTls, isTlsVerifyFailure, readPem } from './tls.js';

export interface KafkaSecurity {
  /** TLS options for kafkajs (`ssl`), or undefined for plaintext. */
  tls?: ConnectionOptions;
  sasl?: SASLOptions;
}

export const KAFKA_SECURITY_SETTINGS: { name: string; default: string; help: string }[] = [
  { name: 'SHIPLOG_KAFKA_TLS', default: 'false', help: 'true: connect to the brokers with TLS (their certificates are verified, host name included).' },
  { name: 'SHIPLOG_KAFKA_TLS_CA', default: "(Node's CA list)", help: 'PEM file of the CA(s) that signed the brokers\' certificates (a private CA).' },
  { name: 'SHIPLOG_KAFKA_TLS_CERT', default: '', help: 'PEM file of this client\'s certificate, for brokers that require one (ssl.client.auth=required); with SHIPLOG_KAFKA_TLS_KEY.' },
  { name: 'SHIPLOG_KAFKA_TLS_KEY', default: '', help: 'PEM file of the private key of SHIPLOG_KAFKA_TLS_CERT (unencrypted; mount it read-only).' },
  { name: 'SHIPLOG_KAFKA_SASL_MECHANISM', default: 'none', help: 'none, scram-sha-256, scram-sha-512 or plain (plain sends the password as is: use it with TLS only).' },
  { name: 'SHIPLOG_KAFKA_SASL_USERNAME', default: '', help: 'SASL user name.' },
  { name: 'SHIPLOG_KAFKA_SASL_PASSWORD', default: '', help: 'SASL password.' },
];

const MECHANISMS = ['none', 'scram-sha-256', 'scram-sha-512', 'plain'] as const;

export function readKafkaSecurity(r: EnvReader): KafkaSecurity {
  const tlsOn = r.bool('SHIPLOG_KAFKA_TLS', false);
  const ca = readPem(r, 'SHIPLOG_KAFKA_TLS_CA', 'CERTIFICATE');
  const cert = readPem(r, 'SHIPLOG_KAFKA_TLS_CERT', 'CERTIFICATE');
  const key = readPem(r, 'SHIPLOG_KAFKA_TLS_KEY', 'PRIVATE KEY');
  const out: KafkaSecurity = {};
  if (!tlsOn) {
    for (const n of ['SHIPLOG_KAFKA_TLS_CA', 'SHIPLOG_KAFKA_TLS_CERT', 'SHIPLOG_KAFKA_TLS_KEY']) {
      if (r.optionalString(n) !== undefined) r.problem(`${n}: set, but SHIPLOG_KAFKA_TLS is not true (the connection would not use it)`);
    }
  } else {
    out.tls = checkTls(r, 'SHIPLOG_KAFKA_TLS', { ca, cert, key });
  }
  const mechanism = r.oneOf('SHIPLOG_KAFKA_SASL_MECHANISM', 'none', MECHANISMS);
  const username = r.optionalString('SHIPLOG_KAFKA_SASL_USERNAME');
  const password = r.optionalString('SHIPLOG_KAFKA_SASL_PASSWORD');
  if (mechanism === 'none') {
    if (username !== undefined || password !== undefined) r.problem('SHIPLOG_KAFKA_SASL_MECHANISM: a SASL user or password is set, but no mechanism (scram-sha-256, scram-sha-512 or plain)');
  } else if (username === undefined || password === undefined) {
    r.problem(`SHIPLOG_KAFKA_SASL_${username === undefined ? 'USERNAME' : 'PASSWORD'}: not set (SHIPLOG_KAFKA_SASL_MECHANISM is ${mechanism})`);
  } else {
    out.sasl = { mechanism, username, password } as SASLOptions;
  }
  return out;
}

/** The alerts a TLS server sends when it refuses the client's certificate (or wanted one). */
const CLIENT_CERT_REFUSED = /^ERR_SSL_(?:TLSV1|TLSV13|SSLV3)_ALERT_(?:CERTIFICATE_REQUIRED|UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|CERTIFICATE_REVOKED|CERTIFICATE_EXPIRED|UNSUPPORTED_CERTIFICATE|HANDSHAKE_FAILURE|ACCESS_DENIED)$/;

/**
 * A Kafka failure that retrying cannot mend, as the ConfigError to stop start-up with: the
 * brokers refused the SASL credentials, or their certificate did not verify. Anything else
 * (a broker down, a leader moving) is undefined: keep retrying.
 */
export function securityProblem(err: unknown): ConfigError | undefined {
  // Only a Kafka client's failure: the store's TLS errors carry the same codes.
  if (![...causes(err)].some((e) => e.name.startsWith('KafkaJS'))) return undefined;
  for (const e of causes(err)) {
    if (e.name === 'KafkaJSSASLAuthenticationError') {
      return new ConfigError([`SHIPLOG_KAFKA_SASL_USERNAME/SHIPLOG_KAFKA_SASL_PASSWORD: the brokers refused them (${e.message}); check the user, the password and SHIPLOG_KAFKA_SASL_MECHANISM`]);
    }
    const code = (e as { code?: unknown }).code;
    if (isTlsVerifyFailure(code)) {
      return new ConfigError([`SHIPLOG_KAFKA_TLS_CA: the brokers' certificate does not verify (${code}: ${e.message}); set SHIPLOG_KAFKA_TLS_CA to the CA that signed it, and connect by a name the certificate holds`]);
    }
    if (typeof code === 'string' && CLIENT_CERT_REFUSED.test(code)) {
      return new ConfigError([`SHIPLOG_KAFKA_TLS_CERT: the brokers refused this client's certificate, or its absence (${code}); set SHIPLOG_KAFKA_TLS_CERT and SHIPLOG_KAFKA_TLS_KEY to a certificate their CA signed`]);
    }
  }
  return undefined;
}

/**
 * For a failure that is retried: what a mismatch between these settings and the listener looks
 * like, said once in the warning (a plaintext client on a TLS or SASL listener is just closed).
 */
export function connectionHint(err: unknown, s: KafkaSecurity): string | undefined {
  for (const e of causes(err)) {
    if (!s.tls && /Closed connection|Connection closed by the server/.test(e.message)) {
      return 'the brokers closed the connection: if their listener wants TLS or SASL, set SHIPLOG_KAFKA_TLS=true and/or SHIPLOG_KAFKA_SASL_MECHANISM';
    }
    if (s.tls && /before secure TLS connection was established|wrong version number/.test(e.message)) {
      return 'the TLS handshake failed: with SHIPLOG_KAFKA_TLS=true the brokers must list a TLS listener (SSL or SASL_SSL) at these addresses';
    }
  }
  return undefined;
}
