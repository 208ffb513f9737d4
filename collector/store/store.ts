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

export class StorageError extends ShiplogError {
  constructor(message: string, cause?: unknown) {
    super(ERROR_CODES.STORAGE, message, { cause });
  }
}
