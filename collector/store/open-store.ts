/** Opens the configured backend and brings its schema up to date. */
import type { Logger } from '../../lib/logger.js';
import type { CollectorConfig } from '../config.js';
import { ChdbStore } from './chdb-store.js';
import { ClickHouseStore } from './clickhouse-store.js';
import { migrate } from './migrate.js';
import { DEAD_LETTERS_TABLE, quoteIdent, retainedTables } from './schema.js';
import type { LogStore } from './store.js';

export async function openStore(cfg: CollectorConfig, log: Logger): Promise<LogStore> {
  const s = cfg.storage;
  const store: LogStore =
    s.kind === 'chdb'
      ? new ChdbStore(s.path, s.database)
      : new ClickHouseStore({ url: s.url, username: s.username, password: s.password, database: s.database, requestTimeoutMs: 60_000 });
  const o = { database: s.database, retentionDays: cfg.retentionDays, cluster: s.kind === 'clickhouse' ? s.cluster : undefined, replicated: s.kind === 'clickhouse' && !!s.cluster };
  await migrate(store, o, log);
  if (s.kind === 'chdb') {
    for (const t of [...retainedTables(o), DEAD_LETTERS_TABLE]) await store.exec(`ALTER TABLE ${quoteIdent(s.database)}.${quoteIdent(t)} MODIFY SETTING ${EMBEDDED_MERGE_SETTINGS}`);
  }
  return store;
}

/**
 * Merge settings for the embedded store, where a quiet host inserts about once a second
 * (bench/everyday.ts; each measured there and in the README):
 * - min_parts_to_merge_at_once: the default merges two parts as soon as there are two, so each
 *   second's tiny part rewrote the whole day's part (cost growing with the rows stored: 0.107
 *   core and 44x disk writes after 10 minutes). Merging 16 at a time rewrites it 16x less often.
 *   The selector's heuristic that drops parts under 1 % of a range's size from its right end
 *   runs after the 16-part check, so once the day's part was ~100x a new part (~6 minutes
 *   here) it cut each 16-part range back to [day's part, one new part]: it is turned off.
 * - cleanup_*: merged-away parts are removed within seconds, not after minutes (the cleanup
 *   only runs when no merge is due, so with a merge every second it never ran: 64x the parts'
 *   bytes in the data dir after 10 minutes). They are kept 2 s (old_parts_lifetime), which is
 *   safe because a merged part is fsynced before its sources go: the long default lifetime
 *   (8 min upstream) only guards merged parts still in the page cache at a power loss.
 */
const EMBEDDED_MERGE_SETTINGS =
  'min_parts_to_merge_at_once = 16, merge_selector_enable_heuristic_to_remove_small_parts_at_right = 0, min_compressed_bytes_to_fsync_after_merge = 1, old_parts_lifetime = 2, cleanup_delay_period = 1, max_cleanup_delay_period = 5, cleanup_delay_period_random_add = 0';
