/** Opens the configured backend and brings its schema up to date. */
import type { Logger } from '../../lib/logger.js';
import { ConfigError } from '../../lib/errors.js';
import type { CollectorConfig } from '../config.js';
import type { ChdbStore } from './chdb-store.js';
import { ClickHouseStore } from './clickhouse-store.js';
import { migrate } from './migrate.js';
import { DEAD_LETTERS_TABLE, quoteIdent, retainedTables } from './schema.js';
import type { LogStore } from './store.js';

export async function openStore(cfg: CollectorConfig, log: Logger): Promise<LogStore> {
  const s = cfg.storage;
  const store: LogStore =
    s.kind === 'chdb'
      ? new (await embeddedEngine()).ChdbStore(s.path, s.database)
      : new ClickHouseStore({ url: s.url, username: s.username, password: s.password, database: s.database, requestTimeoutMs: 60_000, tlsCa: s.tlsCa });
  const o = { database: s.database, retentionDays: cfg.retentionDays, cluster: s.kind === 'clickhouse' ? s.cluster : undefined, replicated: s.kind === 'clickhouse' && !!s.cluster };
  const unfinished = store.kind === 'chdb' ? (store as ChdbStore).unfinishedMetadata : [];
  if (unfinished.length) log.warn({ files: unfinished }, 'removed empty table definitions left by an earlier start that ran out of disk; creating them again');
  await migrate(store, o, log);
  if (s.kind === 'chdb') {
    for (const t of [...retainedTables(o), DEAD_LETTERS_TABLE]) {
      const table = `${quoteIdent(s.database)}.${quoteIdent(t)}`;
      await store.exec(`ALTER TABLE ${table} MODIFY SETTING ${EMBEDDED_MERGE_SETTINGS}`);
      await store.exec(`ALTER TABLE ${table} RESET SETTING ${EMBEDDED_RESET_SETTINGS}`);
    }
  }
  return store;
}

/**
 * The embedded engine, loaded only when it is used: the `collector-server` image leaves its
 * 540 MiB out, and a collector with SHIPLOG_CLICKHOUSE_URL never loads it.
 */
async function embeddedEngine(): Promise<typeof import('./chdb-store.js')> {
  try {
    return await import('./chdb-store.js');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new ConfigError(['SHIPLOG_CLICKHOUSE_URL is unset, so the embedded store would be used, but this installation has no embedded engine (the npm package chdb; the collector-server image leaves it out): set SHIPLOG_CLICKHOUSE_URL to a ClickHouse server, or use the collector image']);
  }
}

/**
 * Merge settings for the embedded store, where a quiet host inserts about once a second
 * (bench/everyday.ts; each measured there and in the README):
 * - merge_selector_algorithm = 'Trivial': merges ten consecutive parts of the same level, so a
 *   row is rewritten once per level, log10 of the inserts behind its part (5 a day at one
 *   insert a second). The default selector counts every part as at least 5 MiB, so it kept
 *   merging each second's few-KB part into the growing part of the day until that part was
 *   ~70 MiB: 400 one-second inserts took that part to level 26, and the bytes it rewrote grew
 *   with the rows stored that day (the 1.08 cores of the issue). It is marked experimental
 *   upstream; test/integration/collector/embedded-merges.test.ts holds what we rely on.
 * - cleanup_*: merged-away parts are removed within seconds, not after minutes (the cleanup
 *   only runs when no merge is due, so with a merge every second it never ran: 64x the parts'
 *   bytes in the data dir after 10 minutes). They are kept 2 s (old_parts_lifetime), which is
 *   safe because a merged part is fsynced before its sources go: the long default lifetime
 *   (8 min upstream) only guards merged parts still in the page cache at a power loss.
 * Stores opened by an earlier version had min_parts_to_merge_at_once = 16 and the small-parts
 * heuristic off for the default selector; they are reset (the Trivial selector reads neither).
 */
const EMBEDDED_MERGE_SETTINGS =
  "merge_selector_algorithm = 'Trivial', min_compressed_bytes_to_fsync_after_merge = 1, old_parts_lifetime = 2, cleanup_delay_period = 1, max_cleanup_delay_period = 5, cleanup_delay_period_random_add = 0";
const EMBEDDED_RESET_SETTINGS = 'min_parts_to_merge_at_once, merge_selector_enable_heuristic_to_remove_small_parts_at_right';
