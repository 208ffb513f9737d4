/**
 * TLS settings and failures shared by every client of ours that speaks TLS (Kafka brokers, a
 * ClickHouse server): PEM files read and checked at start-up, and what a certificate that does
 * not verify looks like when it fails.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, type ConnectionOptions } from 'node:tls';
import type { EnvReader } from './env-config.js';
import { describe } from './errors.js';

/** A setting naming a PEM file: its text, or a problem recorded (unreadable, not PEM). */
export function readPem(r: EnvReader, name: string, kind: 'CERTIFICATE' | 'PRIVATE KEY'): string | undefined {
  const path = r.optionalString(name);
  if (path === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    r.problem(`${name}: cannot read ${path} (${describe(err)})`);
    return undefined;
  }
  if (!new RegExp(`-----BEGIN [A-Z ]*${kind}-----`).test(text)) {
    r.problem(`${name}: ${path} holds no PEM ${kind.toLowerCase()} (-----BEGIN ${kind}-----)`);
    return undefined;
  }
  return text;
}

/**
 * TLS options from PEM texts read from `<prefix>_CA`, `_CERT` and `_KEY`, checked the way Node
 * will use them (a certificate and key that do not match, a CA that is not a certificate).
 */
export function checkTls(r: EnvReader, prefix: string, pem: { ca?: string; cert?: string; key?: string }): ConnectionOptions {
  if ((r.optionalString(`${prefix}_CERT`) === undefined) !== (r.optionalString(`${prefix}_KEY`) === undefined)) {
    r.problem(`${prefix}_CERT: a client certificate needs its key (${prefix}_KEY), and the key its certificate`);
  }
  const tls = { ...(pem.ca ? { ca: pem.ca } : {}), ...(pem.cert && pem.key ? { cert: pem.cert, key: pem.key } : {}) };
  try {
    createSecureContext(tls);
  } catch (err) {
    r.problem(`${prefix}_${pem.cert && pem.key ? 'KEY' : 'CA'}: ${describe(err)}`);
  }
  return tls;
}

/** Node's codes for a peer certificate that does not verify. */
const TLS_VERIFY_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Whether an error code says a server's certificate did not verify. */
export function isTlsVerifyFailure(code: unknown): code is string {
  return typeof code === 'string' && TLS_VERIFY_CODES.has(code);
}
