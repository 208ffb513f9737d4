/** Opens the configured backend and brings its schema up to date. */
import type { Logger } from '../../lib/logger.js';
import type { CollectorConfig } from '../config.js';
import { ChdbStore } from './chdb-store.js';
import { ClickHouseStore } from './clickhouse-store.js';
import { migrate } from './migrate.js';
import type { LogStore } from './store.js';

export async function openStore(cfg: CollectorConfig, log: Logger): Promise<LogStore> {
  const s = cfg.storage;
  const store: LogStore =
    s.kind === 'chdb'
      ? new ChdbStore(s.path, s.database)
      : new ClickHouseStore({ url: s.url, username: s.username, password: s.password, database: s.database, requestTimeoutMs: 60_000 });
  await migrate(store, { database: s.database, retentionDays: cfg.retentionDays, cluster: s.kind === 'clickhouse' ? s.cluster : undefined, replicated: s.kind === 'clickhouse' && !!s.cluster }, log);
  return store;
}
