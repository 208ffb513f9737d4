/**
 * Server backend: a ClickHouse server (or cluster) over HTTP with @clickhouse/client.
 * Runs the same SQL as the embedded backend (schema.ts); only the transport differs.
 */
import { Readable } from 'node:stream';
import { ClickHouseError, ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { ConfigError, causes, describe } from '../../lib/errors.js';
import { isTlsVerifyFailure } from '../../lib/tls.js';
import { StorageError, insertFailed, queryFailed, type LogStore, type QueryParams } from './store.js';

export interface ClickHouseStoreOptions {
  url: string;
  username?: string;
  password?: string;
  database: string;
  requestTimeoutMs: number;
  /** PEM of the CA that signed an https server's certificate (else Node's CA list). */
  tlsCa?: string;
}

export class ClickHouseStore implements LogStore {
  readonly kind = 'clickhouse' as const;
  readonly database: string;
  private readonly client: ClickHouseClient;
  private readonly display: string;

  constructor(o: ClickHouseStoreOptions) {
    this.database = o.database;
    const u = new URL(o.url);
    this.display = `${u.protocol}//${u.host}`;
    // Credentials and database in the URL are taken apart here, so they never reach logs.
    const username = o.username ?? (decodeURIComponent(u.username) || undefined);
    const password = o.password ?? (decodeURIComponent(u.password) || undefined);
    u.username = '';
    u.password = '';
    u.pathname = '/';
    this.client = createClient({
      url: u.toString(),
      username,
      password,
      request_timeout: o.requestTimeoutMs,
      ...(o.tlsCa ? { tls: { ca_cert: Buffer.from(o.tlsCa) } } : {}),
      compression: { request: false, response: true },
      // Failures surface as StorageError in our own log; the client's logger stays quiet.
      log: { level: ClickHouseLogLevel.OFF },
      // The database may not exist yet: statements name it explicitly.
      clickhouse_settings: { date_time_output_format: 'iso' },
    });
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.client.command({ query: sql });
    } catch (err) {
      throw new StorageError(`ClickHouse at ${this.display}: ${describe(err)}`, err);
    }
  }

  async query<T>(sql: string, params: QueryParams = {}): Promise<T[]> {
    return (await this.queryWithStats<T>(sql, params)).rows;
  }

  async queryWithStats<T = Record<string, unknown>>(sql: string, params: QueryParams = {}): Promise<{ rows: T[]; rowsRead: number }> {
    try {
      const rs = await this.client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
      const rows = await rs.json<T>();
      const summary = rs.response_headers['x-clickhouse-summary'];
      const read = typeof summary === 'string' ? Number((JSON.parse(summary) as { read_rows?: string }).read_rows ?? 0) : 0;
      return { rows, rowsRead: read };
    } catch (err) {
      throw queryFailed(`ClickHouse at ${this.display}: ${describe(err)}`, err);
    }
  }

  async insertTsv(table: string, columns: readonly string[], data: Buffer, dedupToken: string): Promise<void> {
    try {
      await this.client.insert({
        table: `${this.database}.${table}`,
        values: Readable.from([data], { objectMode: false }),
        format: 'TabSeparated',
        columns: columns as [string, ...string[]],
        clickhouse_settings: { insert_deduplication_token: dedupToken },
      });
    } catch (err) {
      throw insertFailed(`ClickHouse at ${this.display}: insert into ${table}: ${describe(err)}`, err);
    }
  }

  async ping(): Promise<void> {
    const r = await this.client.ping();
    if (!r.success) throw new StorageError(`ClickHouse at ${this.display} does not answer: ${describe(r.error)}`, r.error);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** ClickHouse's codes for a user or password it refuses. */
const AUTH_CODES = new Set(['192', '193', '194', '516']);

/**
 * A server failure at start-up that waiting cannot mend, as the ConfigError naming the setting:
 * the server refused the user or password, or its certificate did not verify.
 */
export function clickhouseSettingProblem(err: unknown): ConfigError | undefined {
  // Only the store's failure (a StorageError made here): Kafka's TLS errors carry the same codes.
  if (![...causes(err)].some((e) => e instanceof StorageError)) return undefined;
  for (const e of causes(err)) {
    const code = (e as { code?: unknown }).code;
    if (e instanceof ClickHouseError && AUTH_CODES.has(e.code)) {
      return new ConfigError([`SHIPLOG_CLICKHOUSE_USER/SHIPLOG_CLICKHOUSE_PASSWORD (or the user:password in SHIPLOG_CLICKHOUSE_URL): the server refused them (${e.message.trim().slice(0, 200)})`]);
    }
    if (isTlsVerifyFailure(code)) {
      return new ConfigError([`SHIPLOG_CLICKHOUSE_TLS_CA: the server's certificate does not verify (${code}: ${e.message}); set SHIPLOG_CLICKHOUSE_TLS_CA to the CA that signed it, and connect by a name the certificate holds`]);
    }
  }
  return undefined;
}
