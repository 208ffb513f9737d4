/**
 * The kinds of record shiplog stores, one descriptor each: the table and columns its rows go
 * to, the schema its records are validated against (decode-record.ts, by name) and, for stats
 * and events, how a record becomes a row and what follows once it is stored (the cAdvisor
 * metrics state). Adding a kind is one descriptor here, its schema and a migration in
 * store/schema.ts; ingest.ts, the Kafka consumer and `shiplog up` take it from here.
 */
import type { EventRecord, StatsRecord } from '../../lib/records.js';
import type { CadvisorState } from '../metrics/cadvisor.js';
import { EVENTS_INSERT_COLUMNS, EVENTS_TABLE, LOG_INSERT_COLUMNS, LOGS_TABLE, STATS_INSERT_COLUMNS, STATS_TABLE } from '../store/schema.js';
import { eventRow, statsRow } from './aux-rows.js';
import type { KafkaCoords } from './encode-rows.js';

export type KindName = 'logs' | 'stats' | 'events';

interface Kind {
  readonly name: KindName;
  readonly table: string;
  readonly columns: readonly string[];
}

/** Log records: many lines each, stored line by line (a refused line is set apart alone). */
export interface LogKind extends Kind {
  readonly name: 'logs';
}

/** One row per record; a refused record is set apart whole. */
export interface RowKind<R> extends Kind {
  readonly name: 'stats' | 'events';
  row(rec: R, at: KafkaCoords): string;
  /** What follows once the record is stored (the metrics state follows what is stored). */
  afterStore(state: CadvisorState, rec: R, partition: number): void;
}

export const LOGS: LogKind = { name: 'logs', table: LOGS_TABLE, columns: LOG_INSERT_COLUMNS };

export const STATS: RowKind<StatsRecord> = {
  name: 'stats',
  table: STATS_TABLE,
  columns: STATS_INSERT_COLUMNS,
  row: statsRow,
  afterStore: (state, rec, partition) => state.onStats(rec, partition),
};

export const EVENTS: RowKind<EventRecord> = {
  name: 'events',
  table: EVENTS_TABLE,
  columns: EVENTS_INSERT_COLUMNS,
  row: eventRow,
  afterStore: (state, rec, partition) => state.onEvent(rec, partition),
};

export type AnyKind = LogKind | RowKind<StatsRecord> | RowKind<EventRecord>;

export const KINDS: Record<KindName, AnyKind> = { logs: LOGS, stats: STATS, events: EVENTS };
