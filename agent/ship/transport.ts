/**
 * Where the shipper sends records: Kafka, or (in `shiplog up`) the store in the same process.
 * A send resolves only once the records are durable at the other end (Kafka acks=all, or the
 * store committed); only then do checkpoints move.
 */
import { ERROR_CODES, ShiplogError } from '../../lib/errors.js';
import type { RecordCursor } from './record.js';

export interface OutRecord {
  /** Message key: the container id. */
  key: string;
  /** The record's JSON (record.ts), as bytes. */
  value: Buffer;
  /** Number of lines inside, for metrics. */
  lines: number;
}

export interface SendResult {
  /** For each partition written, the offset just after our last record there. */
  nextOffsets: Map<number, string>;
}

/** The other end refused a record because of its size; splitting the batch may help. */
export class TooLargeError extends ShiplogError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ERROR_CODES.RECORD_TOO_LARGE, message, options);
  }
}

export interface Transport {
  /** Names where records go (e.g. "kafka:shiplog.logs"), to tell whether stored offsets belong to it. */
  readonly target: string;
  /** Largest record the other end takes (known after start()). */
  readonly maxRecordBytes: number;
  start(): Promise<void>;
  send(records: OutRecord[]): Promise<SendResult>;
  /** Sends stats samples or lifecycle events (at least once; no cursors involved). */
  sendAux(kind: 'stats' | 'events', records: { key: string; value: string }[]): Promise<void>;
  /**
   * Records of this host acknowledged after the given per-partition offsets: the cursor each
   * container reached in them. Used at start-up to finish checkpoints a crash interrupted.
   */
  recover(fromOffsets: Record<string, string>, host: string): Promise<{ cursors: Map<string, RecordCursor>; endOffsets: Map<number, string>; scanned: number }>;
  stop(): Promise<void>;
}
