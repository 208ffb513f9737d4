/** The agent's own metrics, all on the one registry created at start-up. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Live values read at scrape time. */
export interface AgentProbe {
  bufferedBytes(): number;
  bufferedLines(): number;
  containersFollowed(): number;
  containersExcluded(): number;
  /** Per container name: seconds since the Docker time of its oldest line not yet acknowledged (0 when none waits). */
  checkpointLag(): Map<string, number>;
  /** The host name stamped on records, once known (after start-up asked the engine). */
  host?(): string | undefined;
}

/**
 * Label values of the error and drop counters, exported at 0 from the start: an alert on
 * increase() sees the first error, and dashboards show 0 rather than "no data".
 */
const DOCKER_OPS = ['events', 'inspect', 'logs', 'decode'];
const DROP_REASONS = ['record_too_large'];
const STATS_STAGES = ['sample', 'ship'];

export function createAgentMetrics(registry: Registry, probe: AgentProbe) {
  const m = agentMetrics(registry, probe);
  for (const op of DOCKER_OPS) m.dockerErrors.inc({ op }, 0);
  for (const reason of DROP_REASONS) m.linesDropped.inc({ reason }, 0);
  for (const stage of STATS_STAGES) m.statsErrors.inc({ stage }, 0);
  for (const event of ['position-lost', 'rotations-overrun']) m.logFileEvents.inc({ event }, 0);
  return m;
}

function agentMetrics(registry: Registry, probe: AgentProbe) {
  const r = [registry];
  return {
    linesRead: new Counter({ name: 'shiplog_agent_lines_read_total', help: 'Log lines read from Docker, per container and stream.', labelNames: ['container', 'stream'], registers: r }),
    bytesRead: new Counter({ name: 'shiplog_agent_bytes_read_total', help: 'Log line bytes read from Docker (without newline), per container and stream.', labelNames: ['container', 'stream'], registers: r }),
    linesShipped: new Counter({ name: 'shiplog_agent_lines_shipped_total', help: 'Log lines acknowledged by the transport (Kafka acks=all or the store), per container and stream.', labelNames: ['container', 'stream'], registers: r }),
    bytesShipped: new Counter({ name: 'shiplog_agent_bytes_shipped_total', help: 'Log line bytes acknowledged by the transport, per container and stream.', labelNames: ['container', 'stream'], registers: r }),
    recordsShipped: new Counter({ name: 'shiplog_agent_records_shipped_total', help: 'Records (batches of lines of one container) acknowledged.', registers: r }),
    produceSeconds: new Histogram({ name: 'shiplog_agent_produce_duration_seconds', help: 'Time from send to acknowledgement of one batch.', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: r }),
    produceErrors: new Counter({ name: 'shiplog_agent_produce_errors_total', help: 'Failed sends to the transport (retried without limit).', registers: r }),
    bufferedBytes: new Gauge({ name: 'shiplog_agent_buffered_bytes', help: 'Encoded bytes read but not yet acknowledged (including the batch in flight).', registers: r, collect() { this.set(probe.bufferedBytes()); } }),
    bufferedLines: new Gauge({ name: 'shiplog_agent_buffered_lines', help: 'Lines read but not yet acknowledged.', registers: r, collect() { this.set(probe.bufferedLines()); } }),
    backpressurePauses: new Counter({ name: 'shiplog_agent_backpressure_pauses_total', help: 'Times a container log stream was paused because the buffer was full.', registers: r }),
    containersFollowed: new Gauge({ name: 'shiplog_agent_containers_followed', help: 'Containers whose logs are being followed now.', registers: r, collect() { this.set(probe.containersFollowed()); } }),
    containersExcluded: new Gauge({ name: 'shiplog_agent_containers_excluded', help: 'Containers skipped by labels or filters.', registers: r, collect() { this.set(probe.containersExcluded()); } }),
    dockerErrors: new Counter({ name: 'shiplog_agent_docker_errors_total', help: 'Errors talking to the Docker engine, by operation.', labelNames: ['op'], registers: r }),
    linesSplit: new Counter({ name: 'shiplog_agent_lines_split_total', help: 'Lines longer than SHIPLOG_MAX_LINE_BYTES, shipped as several parts (nothing is cut off).', registers: r }),
    batchesSplit: new Counter({ name: 'shiplog_agent_batches_split_total', help: 'Batches refused by Kafka as too large and sent again in halves.', registers: r }),
    linesDropped: new Counter({ name: 'shiplog_agent_lines_dropped_total', help: 'Lines that could not be shipped, by reason (each is also logged).', labelNames: ['reason'], registers: r }),
    invalidUtf8Lines: new Counter({ name: 'shiplog_agent_invalid_utf8_lines_total', help: 'Lines that are not valid UTF-8, shipped as base64 of their exact bytes.', registers: r }),
    entriesReplayed: new Counter({ name: 'shiplog_agent_replayed_entries_skipped_total', help: 'Log entries Docker sent again (its stream went back in time, e.g. across json-file rotation) and that were skipped as duplicates.', labelNames: ['container'], registers: r }),
    logFileEvents: new Counter({
      name: 'shiplog_agent_log_file_events_total',
      help: 'File mode: what happened to json-file logs while they were read — rotated, truncated, resumed-rotated (a resume found its file rotated), reread-rotated (rotated files read again; shipped lines are skipped), position-lost (the file of a checkpoint was gone) and rotations-overrun (Docker rotated files away faster than they were opened: lines may be lost).',
      labelNames: ['event'],
      registers: r,
    }),
    streamReopens: new Counter({ name: 'shiplog_agent_log_stream_reopens_total', help: 'Log streams reopened from the cursor because Docker\'s follow reader went back in time (json-file rotation).', registers: r }),
    multilineMerged: new Counter({ name: 'shiplog_agent_multiline_lines_merged_total', help: 'Lines merged into a previous line by multiline rules.', registers: r }),
    checkpointWrites: new Counter({ name: 'shiplog_agent_checkpoint_writes_total', help: 'Checkpoint file writes.', registers: r }),
    checkpointErrors: new Counter({ name: 'shiplog_agent_checkpoint_errors_total', help: 'Checkpoint file writes that failed.', registers: r }),
    checkpointLag: new Gauge({
      name: 'shiplog_agent_checkpoint_lag_seconds',
      help: 'Per container: how old (by its Docker time) the oldest line read but not yet acknowledged is; 0 when none waits. Grows while the transport or store fails.',
      labelNames: ['container'],
      registers: r,
      collect() {
        this.reset();
        for (const [container, seconds] of probe.checkpointLag()) this.set({ container }, seconds);
      },
    }),
    statsSamples: new Counter({ name: 'shiplog_agent_stats_samples_total', help: 'Container stats samples shipped.', registers: r }),
    statsErrors: new Counter({ name: 'shiplog_agent_stats_errors_total', help: 'Stats samples not taken or not shipped (by stage); the next interval samples again.', labelNames: ['stage'], registers: r }),
    events: new Counter({ name: 'shiplog_agent_events_total', help: 'Container lifecycle events shipped, by action.', labelNames: ['action'], registers: r }),
    eventsDropped: new Counter({ name: 'shiplog_agent_events_dropped_total', help: 'Lifecycle events dropped because the event queue was full while Kafka was down (each is also logged).', registers: r }),
    recoveredContainers: new Counter({ name: 'shiplog_agent_recovered_checkpoints_total', help: 'Container checkpoints moved forward at start-up from records found acknowledged in Kafka.', registers: r }),
    // Names the host this agent ships for (the `host` label of its containers' metrics), so
    // that an alert on the agent being down can say which host, and hold back that host's
    // container alerts (deploy/alertmanager).
    info: new Gauge({
      name: 'shiplog_agent_info',
      help: 'Always 1; `host` is the host name the agent stamps on its records.',
      labelNames: ['host'],
      registers: r,
      collect() {
        this.reset();
        const host = probe.host?.();
        if (host !== undefined) this.set({ host }, 1);
      },
    }),
  };
}

export type AgentMetrics = ReturnType<typeof createAgentMetrics>;

/** Removes a container's series (so that they do not pile up over the containers seen over time). */
export function dropContainerSeries(m: AgentMetrics, container: string): void {
  for (const stream of ['stdout', 'stderr']) {
    for (const c of [m.linesRead, m.bytesRead, m.linesShipped, m.bytesShipped]) c.remove({ container, stream });
  }
  m.entriesReplayed.remove({ container });
}
