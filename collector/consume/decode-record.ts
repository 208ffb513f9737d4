/**
 * Decodes and validates one Kafka record against the published JSON Schema
 * (schema/log-record.schema.json). Anything else is a rejection with a reason, for the DLQ.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { packageRoot } from '../../lib/package-root.js';
import type { LogRecord } from '../../agent/ship/record.js';

export type RejectReason = 'oversized' | 'not_json' | 'schema' | 'empty';

export type Decoded = { ok: true; record: LogRecord } | { ok: false; reason: RejectReason; detail: string };

const schemaPath = join(packageRoot(), 'schema', 'log-record.schema.json');
const validate = new Ajv2020({ allErrors: false, strict: false }).compile<LogRecord>(JSON.parse(readFileSync(schemaPath, 'utf8')) as object);

export function decodeRecord(value: Buffer | null, maxBytes: number): Decoded {
  if (!value || value.length === 0) return { ok: false, reason: 'empty', detail: 'record has no value' };
  if (value.length > maxBytes) return { ok: false, reason: 'oversized', detail: `record is ${value.length} bytes; the limit is ${maxBytes}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: 'not_json', detail: `not JSON: ${(err as Error).message.slice(0, 200)}` };
  }
  if (!validate(parsed)) {
    const e = validate.errors?.[0];
    return { ok: false, reason: 'schema', detail: `does not match the log record schema: ${e?.instancePath || '/'} ${e?.message ?? ''}`.trim() };
  }
  return { ok: true, record: parsed };
}
