/**
 * `shiplog up`: the agent's records go straight into the store in this process, through the
 * collector's own row encoding. A send resolves once the insert is committed, so the
 * agent's checkpoints keep the same meaning as with Kafka. After a crash between an insert
 * and the checkpoint write, start-up reads back from the store how far each container's
 * streams are stored.
 */
import type { Logger } from '../lib/logger.js';
import { eventRow, statsRow, type EventRecord, type StatsRecord } from '../collector/consume/aux-rows.js';
import { RowEncoder } from '../collector/consume/encode-rows.js';
import { storeLogRows, type BatchRecord } from '../collector/consume/store-log-rows.js';
import type { CadvisorState } from '../collector/metrics/cadvisor.js';
import type { CollectorMetrics } from '../collector/metrics.js';
import { EVENTS_INSERT_COLUMNS, EVENTS_TABLE, LOG_INSERT_COLUMNS, LOGS_TABLE, STATS_INSERT_COLUMNS, STATS_TABLE, quoteIdent, rfc3339NanoSql } from '../collector/store/schema.js';
import { storeDeadLetters, type DeadLetter } from '../collector/store/dead-letters.js';
import { insertIsolating } from '../collector/store/insert-isolating.js';
import { existsSync } from 'node:fs';
import { isDataRefusal, StorageError, type LogStore } from '../collector/store/store.js';
import { describe } from '../lib/errors.js';
import type { LogRecord, RecordCursor } from '../lib/records.js';
import type { OutRecord, SendResult, Transport } from '../agent/ship/transport.js';

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

  /** False while the last insert failed for a reason other than its data (store unreachable, disk full). */
  storageUp = true;

  constructor(
    private readonly store: LogStore,
    private readonly metrics: CollectorMetrics,
    private readonly containers: CadvisorState,
    private readonly log: Logger,
    /** Test-only fault injection: a record whose text contains this is encoded as a row the store refuses. */
    private readonly faultUnstorableText = '',
    /** Test-only fault injection: while this file exists, every store write fails as unavailable. */
    private readonly faultStoreDownFile = '',
  ) {}

  async start(): Promise<void> {
    await this.tracked(() => this.store.ping());
  }

  /**
   * Inserts the records' lines. A record the encoder refuses (a time the store cannot hold)
   * goes to the dead-letter table whole; a line the store refuses (found by splitting the
   * batch, store-log-rows.ts) goes there alone, as a record of that line; everything else is
   * stored. Throws only when the store is unavailable: the shipper retries, with the tokens
   * of the first attempt, so nothing is stored twice.
   */
  async send(records: OutRecord[]): Promise<SendResult> {
    let first = this.firstAttempt.get(records);
    if (!first) {
      first = { token: `inproc:${process.pid}:${this.seq}`, base: this.seq };
      this.seq += records.length;
      this.firstAttempt.set(records, first);
    }
    const { token, base } = first;
    const letters: DeadLetter[] = [];
    const letter = (offset: string, key: string, record: string, reason: string, detail: string) =>
      letters.push({ source: INPROC_TOPIC, partition: 0, offset, reason, detail, key, record: Buffer.from(record) });
    // One "offset" per record, as in Kafka (RecordLine counts within it).
    const batch: BatchRecord[] = [];
    const enc = new RowEncoder();
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as OutRecord;
      const rec = JSON.parse(r.value) as LogRecord;
      const at = { topic: INPROC_TOPIC, partition: 0, offset: String(base + i) };
      try {
        enc.add(rec, at);
        batch.push({ rec, at });
      } catch (err) {
        letter(at.offset, r.key, r.value, 'unencodable', describe(err));
      }
    }
    const rows = enc.rows;
    const times = enc.lineTimesMs;
    const refused = await storeLogRows({
      records: batch,
      data: enc.take(),
      token,
      faultText: this.faultUnstorableText || undefined,
      insert: (data, tok) => this.insert(LOGS_TABLE, LOG_INSERT_COLUMNS, data, tok),
      deadLetter: async (r, line, oneLine, detail) => {
        letter(`${r.at.offset}.${line}`, oneLine.container.id, JSON.stringify(oneLine), 'unstorable', detail);
      },
    });
    await this.storeLetters(letters, token);
    this.metrics.rowsInserted.inc({ table: LOGS_TABLE }, rows - refused);
    this.metrics.batchRows.observe({ table: LOGS_TABLE }, rows);
    const now = Date.now();
    for (const t of times) this.metrics.endToEndSeconds.observe(Math.max(0, (now - t) / 1000));
    this.metrics.countLines(enc.lineCounts);
    return { nextOffsets: new Map() };
  }

  /** Stores what the encoder or the store refused in the dead-letter table (the token makes a retry land once), counted and logged. */
  private async storeLetters(letters: DeadLetter[], token: string): Promise<void> {
    if (!letters.length) return;
    await this.tracked(() => storeDeadLetters(this.store, letters, `${token}:dead`));
    for (const d of letters) {
      this.metrics.recordsRejected.inc({ topic: INPROC_TOPIC, reason: d.reason });
      this.log.warn({ source: d.source, offset: d.offset, reason: d.reason, detail: d.detail }, 'stored in the dead-letter table');
    }
  }

  /** One timed insert, tracked like every store operation. */
  private insert(table: string, columns: readonly string[], data: Buffer, token: string): Promise<void> {
    return this.tracked(async () => {
      const end = this.metrics.insertSeconds.startTimer({ table });
      await this.store.insertTsv(table, columns, data, token);
      end();
    });
  }

  /** Runs a store operation, keeping storageUp true to what happened (a refusal of the data means the store is up). */
  private async tracked<T>(op: () => Promise<T>): Promise<T> {
    try {
      if (this.faultStoreDownFile && existsSync(this.faultStoreDownFile)) throw new StorageError('fault injection: SHIPLOG_FAULT_STORE_DOWN_FILE exists');
      const r = await op();
      this.storageUp = true;
      return r;
    } catch (err) {
      this.storageUp = isDataRefusal(err);
      throw err;
    }
  }

  async sendAux(kind: 'stats' | 'events', records: { key: string; value: string }[]): Promise<void> {
    if (!records.length) return;
    const at = { topic: INPROC_TOPIC, partition: 0, offset: String(this.seq++) };
    const table = kind === 'stats' ? STATS_TABLE : EVENTS_TABLE;
    const rows: { rec: StatsRecord | EventRecord; row: string; key: string; value: string }[] = [];
    const letters: DeadLetter[] = [];
    const letter = (r: { key: string; value: string }, reason: string, detail: string) =>
      letters.push({ source: `${INPROC_TOPIC}.${kind}`, partition: 0, offset: at.offset, reason, detail, key: r.key, record: Buffer.from(r.value) });
    for (const r of records) {
      const rec = JSON.parse(r.value) as StatsRecord | EventRecord;
      try {
        rows.push({ rec, row: kind === 'stats' ? statsRow(rec as StatsRecord, at) : eventRow(rec as EventRecord, at), ...r });
      } catch (err) {
        letter(r, 'unencodable', describe(err));
      }
    }
    const token = `inproc:${process.pid}:${at.offset}`;
    const columns = kind === 'stats' ? STATS_INSERT_COLUMNS : EVENTS_INSERT_COLUMNS;
    const stored: (StatsRecord | EventRecord)[] = [];
    type Row = (typeof rows)[number];
    const insert = async (part: readonly Row[], tok: string) => {
      await this.insert(table, columns, Buffer.from(part.map((p) => p.row).join('')), tok);
      for (const p of part) stored.push(p.rec);
    };
    if (rows.length) {
      await insertIsolating<Row>(
        () => insert(rows, token),
        () => rows,
        (part) => insert(part, `${token}/${rows.indexOf(part[0] as Row)}+${part.length}`),
        async (p, detail) => {
          letter(p, 'unstorable', detail);
        },
      );
    }
    await this.storeLetters(letters, token);
    this.metrics.rowsInserted.inc({ table }, stored.length);
    for (const p of stored) {
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
