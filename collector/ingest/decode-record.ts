/**
 * Decodes and validates one Kafka record against the published JSON Schemas
 * (schema/*.schema.json). Anything else is a rejection with a reason, for the DLQ.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { LogRecord } from '../../lib/records.js';
import { packageRoot } from '../../lib/package-root.js';

export type RejectReason = 'oversized' | 'not_json' | 'schema' | 'empty';

export type Decoded<T = LogRecord> = { ok: true; record: T } | { ok: false; reason: RejectReason; detail: string };

const ajv = new Ajv2020({ allErrors: false, strict: false });
const load = (f: string) => JSON.parse(readFileSync(join(packageRoot(), 'schema', f), 'utf8')) as object;
ajv.addSchema(load('log-record.schema.json'));
const validators = {
  logs: ajv.getSchema('https://shiplog.dev/schema/log-record.v1.json') as ValidateFunction,
  stats: ajv.compile(load('stats-record.schema.json')),
  events: ajv.compile(load('event-record.schema.json')),
};

export type RecordKind = keyof typeof validators;

/**
 * value: the record's bytes (from Kafka), or its JSON text (from this process's own agent, in
 * `shiplog up`: parsed as it is, without a round trip through bytes).
 * validate = false: parsed only (records this process's own agent made, already in the schema's shape).
 */
export function decodeRecord<T = LogRecord>(value: Buffer | string | null, maxBytes: number, kind: RecordKind = 'logs', validate = true): Decoded<T> {
  if (!value || value.length === 0) return { ok: false, reason: 'empty', detail: 'record has no value' };
  // Text of n characters is at most 3n bytes in UTF-8: counted only when it could be over.
  const bytes = typeof value === 'string' ? (value.length * 3 <= maxBytes ? value.length : Buffer.byteLength(value)) : value.length;
  if (bytes > maxBytes) return { ok: false, reason: 'oversized', detail: `record is ${bytes} bytes; the limit is ${maxBytes}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: 'not_json', detail: `not JSON: ${(err as Error).message.slice(0, 200)}` };
  }
  const check = validators[kind];
  if (validate && !check(parsed)) {
    const e = check.errors?.[0];
    return { ok: false, reason: 'schema', detail: `does not match the ${kind} record schema: ${e?.instancePath || '/'} ${e?.message ?? ''}`.trim() };
  }
  return { ok: true, record: parsed as T };
}
