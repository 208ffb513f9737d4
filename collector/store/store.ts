/**
 * The storage interface both backends implement. SQL comes from schema.ts and the callers;
 * backends only move bytes and map failures to StorageError.
 */
import { ShiplogError, ERROR_CODES } from '../../lib/errors.js';

export type QueryParams = Record<string, string | number | boolean | string[] | number[]>;

export interface LogStore {
  readonly kind: 'chdb' | 'clickhouse';
  readonly database: string;
  /** Runs a statement that returns nothing (DDL). */
  exec(sql: string): Promise<void>;
  /** Runs a parameterised query ({name:Type} placeholders) and returns JSONEachRow rows. */
  query<T = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<T[]>;
  /** The same, with the engine's own count of rows it read (for plans and limits). */
  queryWithStats<T = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<{ rows: T[]; rowsRead: number }>;
  /**
   * Inserts TabSeparated rows (columns as listed) with a deduplication token: the same
   * token with the same data is stored once, however often it is retried.
   */
  insertTsv(table: string, columns: readonly string[], data: Buffer, dedupToken: string): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * ClickHouse errors about the data itself, by code, name or wording (the HTTP interface may
 * send only the text): the store answered, and retrying the same rows cannot help.
 */
const DATA_ERROR = /\bCode: (6|26|27|32|38|41|53|69|70|72|117|321|349|407)\b|CANNOT_PARSE|CANNOT_READ|INCORRECT_DATA|VALUE_IS_OUT_OF_RANGE|ARGUMENT_OUT_OF_BOUND|TYPE_MISMATCH|DECIMAL_OVERFLOW|Cannot parse|Cannot read|is out of range/;

/**
 * `data`: the store refused these rows (split the batch, dead-letter the bad one);
 * `timeout`: a query ran past its time limit; `unavailable`: anything else, retry later.
 */
export type StorageFailure = 'data' | 'timeout' | 'unavailable';

const TIMEOUT = /TIMEOUT_EXCEEDED|Timeout exceeded|\bCode: 159\b/;

export class StorageError extends ShiplogError {
  readonly failure: StorageFailure;
  constructor(message: string, cause?: unknown, failure: StorageFailure = 'unavailable') {
    super(ERROR_CODES.STORAGE, message, { cause });
    this.failure = failure;
  }
}

/** A StorageError for a failed insert, classified by what the engine said. */
export function insertFailed(message: string, cause: unknown): StorageError {
  return new StorageError(message, cause, DATA_ERROR.test(message) ? 'data' : 'unavailable');
}

/** A StorageError for a failed query, classified by what the engine said. */
export function queryFailed(message: string, cause: unknown): StorageError {
  return new StorageError(message, cause, TIMEOUT.test(message) ? 'timeout' : 'unavailable');
}

export function isDataRefusal(err: unknown): err is StorageError {
  return err instanceof StorageError && err.failure === 'data';
}
