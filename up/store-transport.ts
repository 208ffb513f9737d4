/**
 * `shiplog up`: the agent's records go straight into the store in this process, through the
 * collector's own ingest path (the Kafka consumer's, without Kafka). A send resolves once the insert is committed, so the
 * agent's checkpoints keep the same meaning as with Kafka. After a crash between an insert
 * and the checkpoint write, start-up reads back from the store how far each container's
 * streams are stored.
 */
import { existsSync } from 'node:fs';
import type { OutRecord, SendResult, Transport } from '../agent/ship/transport.js';
import { ingest, type IngestContext, type IngestTarget } from '../collector/ingest/ingest.js';
import { KINDS, LOGS, type AnyKind } from '../collector/ingest/kinds.js';
import type { CadvisorState } from '../collector/metrics/cadvisor.js';
import type { CollectorMetrics } from '../collector/metrics.js';
import { storeDeadLetters } from '../collector/store/dead-letters.js';
import { LOGS_TABLE, quoteIdent, rfc3339NanoSql } from '../collector/store/schema.js';
import { isDataRefusal, StorageError, type LogStore } from '../collector/store/store.js';
import type { Logger } from '../lib/logger.js';
import type { RecordCursor } from '../lib/records.js';

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
  /** A retried batch gets the offsets (so the tokens) of its first attempt, so the store keeps it once. */
  private readonly firstAttempt = new WeakMap<object, number>();
  private readonly ingestTarget: IngestTarget;
  private readonly context: IngestContext;

  /** False while the last insert failed for a reason other than its data (store unreachable, disk full). */
  storageUp = true;

  constructor(
    private readonly store: LogStore,
    metrics: CollectorMetrics,
    containers: CadvisorState,
    private readonly log: Logger,
    /** Test-only fault injection: a record whose text contains this is encoded as a row the store refuses. */
    faultUnstorableText = '',
    /** Test-only fault injection: while this file exists, every store write fails as unavailable. */
    private readonly faultStoreDownFile = '',
  ) {
    this.ingestTarget = {
      store,
      deadLetterPlace: 'the dead-letter table',
      run: (_what, op) => this.tracked(op),
      reject: (rejected, token) =>
        this.tracked(() =>
          storeDeadLetters(
            store,
            rejected.map((r) => ({ source: r.topic, partition: r.partition, offset: r.line === undefined ? r.offset : `${r.offset}.${r.line}`, reason: r.reason, detail: r.detail, key: r.key?.toString() ?? '', record: r.value ?? Buffer.alloc(0) })),
            token,
          ),
        ),
    };
    this.context = { metrics, log, containers, maxRecordBytes: this.maxRecordBytes, validate: false, faultText: faultUnstorableText || undefined };
  }

  async start(): Promise<void> {
    await this.tracked(() => this.store.ping());
  }

  /**
   * Stores the records through the collector's ingest path (collector/ingest/ingest.ts): a
   * record the encoder refuses goes to the dead-letter table whole, a line the store refuses
   * goes there alone, everything else is stored. Throws only when the store is unavailable:
   * the shipper retries, with the offsets (so the tokens) of the first attempt, so nothing is
   * stored twice.
   */
  async send(records: OutRecord[]): Promise<SendResult> {
    await this.ingest(LOGS, records);
    return { nextOffsets: new Map() };
  }

  async sendAux(kind: 'stats' | 'events', records: { key: string; value: string }[]): Promise<void> {
    if (records.length) await this.ingest(KINDS[kind], records);
  }

  /** One "offset" per record, as in Kafka (RecordLine counts within it); a retried batch keeps those of its first attempt. */
  private async ingest(kind: AnyKind, records: readonly { key: string; value: string | Buffer }[]): Promise<void> {
    let base = this.firstAttempt.get(records);
    if (base === undefined) {
      base = this.seq;
      this.seq += records.length;
      this.firstAttempt.set(records, base);
    }
    const topic = kind === LOGS ? INPROC_TOPIC : `${INPROC_TOPIC}.${kind.name}`;
    const first = base;
    const incoming = records.map((r, i) => ({ offset: String(first + i), key: r.key, value: r.value }));
    await ingest(kind, { topic, partition: 0, records: incoming, storedUpTo: null, tokenBase: `${INPROC_TOPIC}:${process.pid}` }, this.ingestTarget, this.context);
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

  /**
   * Cursors as far as the store holds this host's lines (last day): the newest timestamp per
   * container and stream, and how many stored lines carry it.
   */
  async recover(_from: Record<string, string>, host: string): Promise<{ cursors: Map<string, RecordCursor>; endOffsets: Map<number, string>; scanned: number }> {
    const db = quoteIdent(this.store.database);
    const recent = `HostName = {h:String} AND Timestamp >= now() - INTERVAL 1 DAY AND TimestampTime >= now() - INTERVAL 1 DAY`;
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
