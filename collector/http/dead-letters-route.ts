/**
 * GET /api/v1/dead-letters: what `shiplog up` could not store (the encoder or the store
 * refused it), newest first, with the reason and the record as it was. Kafka mode keeps
 * these in the `<prefix>.dlq` topic instead (read it with kcat).
 */
import type { FastifyInstance } from 'fastify';
import { logFilters, TIME_PATTERN, timeLimitSql } from '../query/filters.js';
import { DEAD_LETTERS_TABLE } from '../store/schema.js';
import type { LogStore } from '../store/store.js';
import type { PageLimits } from '../query/logs-page.js';
import { answering } from './answering.js';

/** Longest record text returned per dead letter (the whole record stays in the table). */
const RECORD_CHARS = 64 * 1024;

export const deadLettersQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    since: { type: 'string', maxLength: 64, pattern: TIME_PATTERN, default: '24h', description: 'RFC 3339 time or a duration before now (default 24h)' },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  },
} as const;

export const deadLetterSchema = {
  type: 'object',
  required: ['time', 'source', 'partition', 'offset', 'reason', 'detail', 'key', 'record', 'record_bytes'],
  properties: {
    time: { type: 'string' },
    source: { type: 'string' },
    partition: { type: 'integer' },
    offset: { type: 'string' },
    reason: { type: 'string' },
    detail: { type: 'string' },
    key: { type: 'string' },
    record: { type: 'string', description: `The record as stored (its first ${RECORD_CHARS} characters)` },
    record_bytes: { type: 'integer' },
  },
} as const;

export function registerDeadLettersRoute(app: FastifyInstance, store: LogStore, db: string, limits: PageLimits): void {
  app.get('/api/v1/dead-letters', { schema: { querystring: deadLettersQuerySchema } }, async (req, reply) =>
    answering(reply, limits, async () => {
      const q = req.query as { since?: string; limit?: number };
      const since = logFilters({ since: q.since ?? '24h' }).since as bigint;
      const rows = await store.query<{ time: string; source: string; partition: number; offset: string; reason: string; detail: string; key: string; record: string; record_bytes: string }>(
        `SELECT formatDateTime(Timestamp, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS time, Source AS source, Partition AS partition, Offset AS offset, Reason AS reason,
                Detail AS detail, RecordKey AS key, toValidUTF8(substringUTF8(Record, 1, ${RECORD_CHARS})) AS record, toString(length(Record)) AS record_bytes
         FROM ${db}.${DEAD_LETTERS_TABLE} WHERE Timestamp >= fromUnixTimestamp64Nano({since:Int64}) ORDER BY Timestamp DESC LIMIT {limit:UInt32} ${timeLimitSql(limits.queryTimeoutMs)}`,
        { since: since.toString(), limit: q.limit ?? 100 },
      );
      return { data: rows.map((r) => ({ ...r, partition: Number(r.partition), record_bytes: Number(r.record_bytes) })) };
    }),
  );
}
