/**
 * The dead-letter table of `shiplog up` (Kafka mode has the `<prefix>.dlq` topic instead):
 * a record the encoder or the store refused, stored with its reason so that nothing is lost
 * silently, and listed by GET /api/v1/dead-letters.
 */
import { tsvEscape, tsvEscapeBytes } from '../ingest/encode-rows.js';
import { DEAD_LETTERS_INSERT_COLUMNS, DEAD_LETTERS_TABLE } from './schema.js';
import type { LogStore } from './store.js';

export interface DeadLetter {
  source: string;
  partition: number;
  offset: string;
  reason: string;
  detail: string;
  key: string;
  record: Buffer;
}

/** Stores dead letters; the token makes a retried write land once. */
export async function storeDeadLetters(store: LogStore, letters: DeadLetter[], token: string): Promise<void> {
  if (!letters.length) return;
  const parts: Buffer[] = [];
  for (const d of letters) {
    parts.push(Buffer.from(`${tsvEscape(d.source)}\t${d.partition}\t${tsvEscape(d.offset)}\t${tsvEscape(d.reason)}\t${tsvEscape(d.detail)}\t${tsvEscape(d.key)}\t`), tsvEscapeBytes(d.record), Buffer.from('\n'));
  }
  await store.insertTsv(DEAD_LETTERS_TABLE, DEAD_LETTERS_INSERT_COLUMNS, Buffer.concat(parts), token);
}
