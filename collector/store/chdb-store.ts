/** Embedded backend: ClickHouse in this process (npm chdb), data under SHIPLOG_DATA_DIR. */
import { mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from 'chdb';
import { describe } from '../../lib/errors.js';
import { StorageError, insertFailed, queryFailed, type LogStore, type QueryParams } from './store.js';

export class ChdbStore implements LogStore {
  readonly kind = 'chdb' as const;
  private readonly session: Session;
  /** Metadata files found empty and removed at open (see removeEmptyMetadata), for the log. */
  readonly unfinishedMetadata: string[];

  /** connectionArgs: engine server settings in `clickhouse local` form, e.g. `--max_server_memory_usage=2000000000`. */
  constructor(readonly path: string, readonly database = 'shiplog', connectionArgs: string[] = []) {
    mkdirSync(path, { recursive: true });
    this.unfinishedMetadata = removeEmptyMetadata(path);
    try {
      this.session = new Session(path, connectionArgs.length ? { connectionArgs } : undefined);
    } catch (err) {
      throw new StorageError(`cannot open the embedded store at ${path}: ${describe(err)} (is another shiplog process using this SHIPLOG_DATA_DIR?)`, err);
    }
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.session.queryAsync(sql);
    } catch (err) {
      throw new StorageError(`embedded store: ${describe(err)}`, err);
    }
  }

  async query<T>(sql: string, params: QueryParams = {}): Promise<T[]> {
    return (await this.queryWithStats<T>(sql, params)).rows;
  }

  async queryWithStats<T = Record<string, unknown>>(sql: string, params: QueryParams = {}): Promise<{ rows: T[]; rowsRead: number }> {
    let text: string;
    let rowsRead: number;
    try {
      const r = Object.keys(params).length
        ? await this.session.queryBindAsync(sql, params, { format: 'JSONEachRow' })
        : await this.session.queryAsync(sql, { format: 'JSONEachRow' });
      text = r.text();
      rowsRead = r.rowsRead;
    } catch (err) {
      throw queryFailed(`embedded store: ${describe(err)}`, err);
    }
    const rows: T[] = [];
    for (const line of text.split('\n')) if (line !== '') rows.push(JSON.parse(line) as T);
    return { rows, rowsRead };
  }

  async insertTsv(table: string, columns: readonly string[], data: Buffer, dedupToken: string): Promise<void> {
    try {
      await this.session.insert({
        table: `${this.database}.${table}`,
        values: data,
        format: 'TSV',
        columns,
        settings: { insert_deduplication_token: dedupToken },
      });
    } catch (err) {
      throw insertFailed(`embedded store insert into ${table}: ${describe(err)}`, err);
    }
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1 AS ok');
  }

  async close(): Promise<void> {
    this.session.close();
  }
}

/**
 * A database or table whose creation the disk filled up during leaves its metadata file empty
 * (seen: a first start on a full disk), and the engine then refuses to open the directory at
 * all, even once space is free. An empty definition defines nothing: such files are removed so
 * the engine opens and the migrations create what is missing. Returns the files removed.
 */
function removeEmptyMetadata(path: string): string[] {
  const removed: string[] = [];
  const sqlFiles = (dir: string): string[] => {
    try {
      return readdirSync(dir).filter((f) => f.endsWith('.sql')).map((f) => join(dir, f));
    } catch {
      return [];
    }
  };
  const subdirs = (dir: string): string[] => {
    try {
      return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(dir, e.name));
    } catch {
      return [];
    }
  };
  const candidates = [...sqlFiles(join(path, 'metadata')), ...subdirs(join(path, 'store')).flatMap(subdirs).flatMap(sqlFiles)];
  for (const f of candidates) {
    try {
      if (statSync(f).size === 0) {
        unlinkSync(f);
        removed.push(f);
      }
    } catch {
      // Gone already, or unreadable: the engine will say so.
    }
  }
  return removed;
}
