/**
 * `shiplog up`: the agent's records go straight into the store in this process, through the
 * collector's own row encoding. A send resolves once the insert is committed, so the
 * agent's checkpoints keep the same meaning as with Kafka. After a crash between an insert
 * and the checkpoint write, start-up reads back from the store how far each container's
 * streams are stored.
 */
import type { Logger } from '../../lib/logger.js';
import { eventRow, statsRow, type EventRecord, type StatsRecord } from '../../collector/consume/aux-rows.js';
import { RowEncoder } from '../../collector/consume/encode-rows.js';
import type { CadvisorState } from '../../collector/metrics/cadvisor.js';
import type { CollectorMetrics } from '../../collector/metrics.js';
import { EVENTS_INSERT_COLUMNS, EVENTS_TABLE, LOG_INSERT_COLUMNS, LOGS_TABLE, STATS_INSERT_COLUMNS, STATS_TABLE, quoteIdent, rfc3339NanoSql } from '../../collector/store/schema.js';
import type { LogStore } from '../../collector/store/store.js';
import type { LogRecord, RecordCursor } from './record.js';
import type { OutRecord, SendResult, Transport } from './transport.js';

export const INPROC_TOPIC = 'inproc';

export class StoreTransport implements Transport {
  readonly target = 'store';
  readonly maxRecordBytes = 64 * 1024 ** 2;
  /**
   * Stands in for the Kafka offset of each batch: with RecordLine it names one stored line
   * (the API's cursors rely on that), so it starts from the clock in microseconds and never
   * repeats across restarts.
   */
  private seq = Date.now() * 1000;
  /** A retried batch gets the token and offset of its first attempt, so the store keeps it once. */
  private readonly firstAttempt = new WeakMap<object, { token: string; base: number }>();

  constructor(
    private readonly store: LogStore,
    private readonly metrics: CollectorMetrics,
    private readonly containers: CadvisorState,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.store.ping();
  }

  async send(records: OutRecord[]): Promise<SendResult> {
    let first = this.firstAttempt.get(records);
    if (!first) {
      first = { token: `inproc:${process.pid}:${this.seq}`, base: this.seq };
      this.seq += records.length;
      this.firstAttempt.set(records, first);
    }
    const { token, base } = first;
    const enc = new RowEncoder();
    // One "offset" per record, as in Kafka (RecordLine counts within it).
    records.forEach((r, i) => enc.add(JSON.parse(r.value) as LogRecord, { topic: INPROC_TOPIC, partition: 0, offset: String(base + i) }));
    const rows = enc.rows;
    const times = enc.lineTimesMs;
    const end = this.metrics.insertSeconds.startTimer({ table: LOGS_TABLE });
    await this.store.insertTsv(LOGS_TABLE, LOG_INSERT_COLUMNS, enc.take(), token);
    end();
    this.metrics.rowsInserted.inc({ table: LOGS_TABLE }, rows);
    this.metrics.batchRows.observe({ table: LOGS_TABLE }, rows);
    const now = Date.now();
    for (const t of times) this.metrics.endToEndSeconds.observe(Math.max(0, (now - t) / 1000));
    for (const [k, count] of enc.lineCounts) {
      const [host, name, stream, level] = k.split('\u0000') as [string, string, string, string];
      this.metrics.logLines.inc({ host, name, stream, level }, count);
    }
    return { nextOffsets: new Map() };
  }

  async sendAux(kind: 'stats' | 'events', records: { key: string; value: string }[]): Promise<void> {
    if (!records.length) return;
    let tsv = '';
    const at = { topic: INPROC_TOPIC, partition: 0, offset: String(this.seq++) };
    const parsed = records.map((r) => JSON.parse(r.value) as StatsRecord | EventRecord);
    for (const p of parsed) tsv += kind === 'stats' ? statsRow(p as StatsRecord, at) : eventRow(p as EventRecord, at);
    const table = kind === 'stats' ? STATS_TABLE : EVENTS_TABLE;
    await this.store.insertTsv(table, kind === 'stats' ? STATS_INSERT_COLUMNS : EVENTS_INSERT_COLUMNS, Buffer.from(tsv), `inproc:${process.pid}:${at.offset}`);
    this.metrics.rowsInserted.inc({ table }, records.length);
    for (const p of parsed) {
      if (kind === 'stats') this.containers.onStats(p as StatsRecord, 0);
      else this.containers.onEvent(p as EventRecord, 0);
    }
  }

  /**
   * Cursors as far as the store holds this host's lines (last day): the newest timestamp per
   * container and stream, and how many stored lines carry it.
   */
  async recover(_from: Record<string, string>, host: string): Promise<{ cursors: Map<string, RecordCursor>; endOffsets: Map<number, string>; scanned: number }> {
    const db = quoteIdent(this.store.database);
    const recent = `HostName = {h:String} AND TimestampTime >= now() - INTERVAL 1 DAY`;
    const rows = await this.store.query<{ id: string; s: string; ts: string; n: string }>(
      `SELECT ContainerId AS id, Stream AS s,
         ${rfc3339NanoSql('Timestamp')} AS ts,
         toString(count()) AS n
       FROM ${db}.${LOGS_TABLE}
       WHERE ${recent} AND (ContainerId, Stream, Timestamp) IN (
         SELECT ContainerId, Stream, max(Timestamp) FROM ${db}.${LOGS_TABLE} WHERE ${recent} GROUP BY ContainerId, Stream)
       GROUP BY ContainerId, Stream, Timestamp`,
      { h: host },
    );
    const cursors = new Map<string, RecordCursor>();
    for (const r of rows) {
      const cur = cursors.get(r.id) ?? {};
      const c = { ts: r.ts, n: Number(r.n) };
      if (r.s === 'stderr') cur.stderr = c;
      else cur.stdout = c;
      cursors.set(r.id, cur);
    }
    if (rows.length) this.log.debug({ containers: cursors.size }, 'read stored positions back');
    return { cursors, endOffsets: new Map(), scanned: rows.length };
  }

  async stop(): Promise<void> {
    // The store is closed by its owner.
  }
}
