/** Creates and migrates the schema on start-up: versioned, idempotent, same SQL for every backend. */
import type { Logger } from '../../lib/logger.js';
import { MIGRATIONS, bootstrapStatements, quoteIdent, retainedTables, retentionStatement, type SchemaOptions } from './schema.js';
import type { LogStore } from './store.js';

export async function migrate(store: LogStore, o: SchemaOptions, log: Logger): Promise<number> {
  for (const s of bootstrapStatements(o)) await store.exec(s);
  const rows = await store.query<{ v: number | string }>(`SELECT max(version) AS v FROM ${quoteIdent(o.database)}.shiplog_schema_migrations`);
  let current = Number(rows[0]?.v ?? 0);
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    for (const s of m.statements(o)) await store.exec(s);
    await store.exec(
      `INSERT INTO ${quoteIdent(o.database)}.shiplog_schema_migrations (version, description) VALUES (${m.version}, '${m.description.replace(/'/g, "''")}')`,
    );
    log.info({ version: m.version, description: m.description }, 'schema migrated');
    current = m.version;
  }
  // Retention follows the setting: changed only where it differs (a TTL change is not free).
  for (const table of retainedTables(o)) {
    const t = await store.query<{ q: string }>('SELECT create_table_query AS q FROM system.tables WHERE database = {db:String} AND name = {t:String}', { db: o.database, t: table });
    if (t[0] && !t[0].q.includes(`toIntervalDay(${Math.trunc(o.retentionDays)})`)) {
      await store.exec(retentionStatement(o, table));
      log.info({ table, retentionDays: o.retentionDays }, 'retention changed');
    }
  }
  return current;
}
