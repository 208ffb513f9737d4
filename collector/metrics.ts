/** The collector's pipeline metrics, on the one registry made at start-up. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface CollectorProbe {
  storageUp(): boolean;
}

/** Why a record goes to the DLQ (decode-record.ts RejectReason, plus rows the encoder or the store refused). */
const REJECT_REASONS = ['empty', 'oversized', 'not_json', 'schema', 'unencodable', 'unstorable'];

/**
 * seriesTtlMs: a per-container series (shiplog_log_lines_total) that has not moved for this
 * long is dropped, so the registry does not grow with every container ever seen (it comes
 * back from 0 with the container's next line; rate() and increase() take that as a reset).
 */
export function createCollectorMetrics(registry: Registry, probe: CollectorProbe, topics: string[] = [], seriesTtlMs = 300_000) {
  const lastMoved = new Map<string, number>();
  const m = collectorMetrics(registry, probe, () => {
    const old = Date.now() - seriesTtlMs;
    for (const [k, at] of lastMoved) {
      if (at >= old) continue;
      lastMoved.delete(k);
      m.logLines.remove(...lineLabels(k));
    }
  });
  // Exported at 0 from the start, so increase() sees the first rejection (and dashboards show 0).
  for (const topic of topics) for (const reason of REJECT_REASONS) m.recordsRejected.inc({ topic, reason }, 0);
  return {
    ...m,
    /** Counts stored lines by RowEncoder.lineCounts key (host, name, stream, level joined by NUL). */
    countLines(counts: Map<string, number>): void {
      const now = Date.now();
      for (const [k, n] of counts) {
        m.logLines.labels(...lineLabels(k)).inc(n);
        lastMoved.set(k, now);
      }
    },
  };
}

function lineLabels(key: string): [string, string, string, string] {
  return key.split('\u0000') as [string, string, string, string];
}

function collectorMetrics(registry: Registry, probe: CollectorProbe, sweepLineSeries: () => void) {
  const r = [registry];
  return {
    recordsConsumed: new Counter({ name: 'shiplog_collector_records_consumed_total', help: 'Kafka records consumed, by topic.', labelNames: ['topic'], registers: r }),
    recordsRejected: new Counter({ name: 'shiplog_collector_records_rejected_total', help: 'Records sent to the DLQ, by reason.', labelNames: ['topic', 'reason'], registers: r }),
    recordsSkipped: new Counter({ name: 'shiplog_collector_records_already_stored_total', help: 'Records skipped because storage already held them (redelivered after a crash or rebalance).', labelNames: ['topic'], registers: r }),
    rowsInserted: new Counter({ name: 'shiplog_collector_rows_inserted_total', help: 'Rows inserted into storage, by table.', labelNames: ['table'], registers: r }),
    insertSeconds: new Histogram({ name: 'shiplog_collector_insert_duration_seconds', help: 'Duration of one storage insert.', labelNames: ['table'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: r }),
    batchRows: new Histogram({ name: 'shiplog_collector_batch_rows', help: 'Rows per insert.', labelNames: ['table'], buckets: [1, 10, 100, 1000, 5000, 10000, 50000, 100000, 500000], registers: r }),
    endToEndSeconds: new Histogram({
      name: 'shiplog_collector_line_latency_seconds',
      help: 'From the Docker timestamp of a line to its insert being acknowledged by storage (includes agent, Kafka and collector time).',
      buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60, 300],
      registers: r,
    }),
    consumerLag: new Gauge({ name: 'shiplog_collector_consumer_lag', help: 'Records behind the partition high watermark, as of the last batch.', labelNames: ['topic', 'partition'], registers: r }),
    storageErrors: new Counter({ name: 'shiplog_collector_storage_errors_total', help: 'Failed storage operations (retried with backoff; offsets do not move meanwhile).', registers: r }),
    dlqErrors: new Counter({ name: 'shiplog_collector_dlq_errors_total', help: 'Failed writes to the DLQ topic (retried).', registers: r }),
    dlqDropped: new Counter({ name: 'shiplog_collector_dlq_dropped_total', help: 'Rejected records the DLQ refused even truncated; logged with their coordinates.', registers: r }),
    storageUp: new Gauge({ name: 'shiplog_collector_storage_up', help: '1 while the last storage operation succeeded.', registers: r, collect() { this.set(probe.storageUp() ? 1 : 0); } }),
    logLines: new Counter({ name: 'shiplog_log_lines_total', help: 'Log lines stored, by host, container name, stream and detected level (unknown when none).', labelNames: ['host', 'name', 'stream', 'level'], registers: r, collect: sweepLineSeries }),
    consumerCrashes: new Counter({ name: 'shiplog_collector_consumer_crashes_total', help: 'Consumer crashes (each followed by a restart with backoff), by consumer group.', labelNames: ['group'], registers: r }),
    rebalances: new Counter({ name: 'shiplog_collector_rebalances_total', help: 'Consumer group joins (start-up and rebalances).', registers: r }),
  };
}

export type CollectorMetrics = ReturnType<typeof createCollectorMetrics>;
