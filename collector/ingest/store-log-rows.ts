/**
 * Stores a batch of log records' rows, for the Kafka consumer and `shiplog up` alike. If the
 * store refuses the rows themselves, the batch is split row by row (insert-isolating.ts) until
 * the refused lines stand alone; each is handed to the dead-letter hook as a record of that one
 * line, and every other line is stored. A part's deduplication token names its first and last
 * row, so a retried part is stored once.
 */
import type { LogRecord } from '../../lib/records.js';
import { insertIsolating } from '../store/insert-isolating.js';
import { RowEncoder, type KafkaCoords } from './encode-rows.js';

/** A record in the batch, and the lines of it that are in the batch (undefined: all). */
export interface BatchRecord {
  rec: LogRecord;
  at: KafkaCoords;
  only?: number[];
}

interface RowRef {
  k: number;
  line: number;
}

export interface StoreLogRowsOptions<R extends BatchRecord> {
  records: readonly R[];
  /** The whole batch, already encoded. */
  data: Buffer;
  token: string;
  insert: (data: Buffer, token: string) => Promise<void>;
  /** Called at once for each refused line, before any later row is stored. */
  deadLetter: (r: R, line: number, oneLine: LogRecord, detail: string) => Promise<void>;
  /** Test-only fault injection: lines containing this are encoded as rows the store refuses. */
  faultText?: string;
}

const POISON = Buffer.from('unstorable\n');

function encode(records: readonly BatchRecord[], part: readonly RowRef[], faultText: string | undefined): Buffer {
  const enc = new RowEncoder();
  const poison: Buffer[] = [];
  for (let i = 0; i < part.length; ) {
    const k = (part[i] as RowRef).k;
    const r = records[k] as BatchRecord;
    const lines: number[] = [];
    for (; i < part.length && (part[i] as RowRef).k === k; i++) {
      const line = (part[i] as RowRef).line;
      if (faultText && r.rec.lines[line]?.msg?.includes(faultText)) poison.push(POISON);
      else lines.push(line);
    }
    if (lines.length) enc.add(r.rec, r.at, lines);
  }
  return poison.length ? Buffer.concat([enc.take(), ...poison]) : enc.take();
}

/** Returns how many rows were refused (and dead-lettered). */
export async function storeLogRows<R extends BatchRecord>(o: StoreLogRowsOptions<R>): Promise<number> {
  const rows = () => o.records.flatMap((r, k) => (r.only ?? r.rec.lines.map((_, i) => i)).map((line) => ({ k, line })));
  const name = (x: RowRef) => {
    const at = (o.records[x.k] as BatchRecord).at;
    return `${at.offset}.${x.line}`;
  };
  const r = await insertIsolating<RowRef>(
    () => o.insert(o.faultText ? encode(o.records, rows(), o.faultText) : o.data, o.token),
    rows,
    (part) => o.insert(encode(o.records, part, o.faultText), `${o.token}/${name(part[0] as RowRef)}-${name(part[part.length - 1] as RowRef)}`),
    async (x, detail) => {
      const r = o.records[x.k] as R;
      await o.deadLetter(r, x.line, { ...r.rec, lines: [r.rec.lines[x.line] as LogRecord['lines'][number]] }, detail);
    },
  );
  return r.refused.length;
}
