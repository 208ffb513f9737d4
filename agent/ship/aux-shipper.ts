/**
 * Ships stats samples and lifecycle events. Events wait in a bounded queue while Kafka is
 * down (retried in order; when the queue is full the oldest are dropped, counted and
 * logged). Stats are periodic: a sample that cannot be sent is counted and the next
 * interval brings a fresh one.
 */
import { describe } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { ContainerMeta } from '../docker/containers.js';
import type { DockerClient } from '../docker/client.js';
import type { DockerEvent } from '../docker/events.js';
import { sampleContainer } from '../docker/stats.js';
import type { AgentMetrics } from '../metrics.js';
import { eventRecord, statsRecord, type EventFields } from './aux-records.js';
import type { Transport } from './transport.js';
import { Backoff, sleep } from '../../lib/retry.js';
import type { MachineFacts } from '../../lib/records.js';

/** The lifecycle actions worth keeping (Docker also reports exec_*, attach, resize, …). */
const ACTIONS = new Set(['create', 'start', 'restart', 'die', 'oom', 'kill', 'stop', 'pause', 'unpause', 'destroy', 'rename', 'health_status']);
const MAX_QUEUED_EVENTS = 10_000;

export class AuxShipper {
  private queue: { key: string; value: string; action: string }[] = [];
  private sending = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly host: string,
    private readonly docker: DockerClient,
    private readonly transport: Transport,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
    private readonly hostMemory: number,
    /** The engine host's CPUs and memory, carried by every stats record (cAdvisor's machine_*). */
    private readonly machine?: MachineFacts,
  ) {}

  /** Queues one Docker event (meta from the agent's cache, else from the event's attributes). */
  event(e: DockerEvent, meta: ContainerMeta | undefined): void {
    const raw = e.Action ?? e.status ?? '';
    const [action = '', detail] = raw.split(': ', 2);
    if (!ACTIONS.has(action)) return;
    const id = e.Actor?.ID ?? e.id ?? '';
    const attrs = e.Actor?.Attributes ?? {};
    const fields: EventFields = {
      action,
      time_nano: String(e.timeNano ?? (e.time ?? 0) * 1e9),
      attributes: attrs,
    };
    if (action === 'die' && attrs.exitCode !== undefined) fields.exit_code = Number(attrs.exitCode);
    if (action === 'health_status' && detail) fields.health = detail;
    if (action === 'rename' && attrs.oldName) fields.old_name = attrs.oldName.replace(/^\//, '');
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(attrs)) if (!['name', 'image', 'exitCode', 'oldName', 'signal', 'execDuration'].includes(k)) labels[k] = v;
    const c = meta ?? { id, name: attrs.name ?? '', image: attrs.image ?? '', labels };
    if (this.queue.length >= MAX_QUEUED_EVENTS) {
      const dropped = this.queue.shift();
      this.metrics.eventsDropped.inc();
      this.log.error({ action: dropped?.action }, 'event queue full while Kafka is unavailable: dropped the oldest event');
    }
    this.queue.push({ key: id, value: eventRecord(this.host, { ...c, name: attrs.name ?? c.name }, fields), action });
    void this.flushEvents();
  }

  private async flushEvents(): Promise<void> {
    if (this.sending || this.stopped) return;
    this.sending = true;
    const backoff = new Backoff(500, 15_000);
    try {
      while (this.queue.length && !this.stopped) {
        const batch = this.queue.slice(0, 500);
        try {
          await this.transport.sendAux('events', batch.map(({ key, value }) => ({ key, value })));
          this.queue.splice(0, batch.length);
          for (const b of batch) this.metrics.events.inc({ action: b.action });
          backoff.reset();
        } catch (err) {
          const wait = backoff.next();
          this.log.warn({ err: describe(err), queued: this.queue.length, retryInMs: wait }, 'cannot ship events yet; retrying');
          await sleep(wait);
        }
      }
    } finally {
      this.sending = false;
    }
  }

  /** Samples every given container now and ships the samples in one batch. */
  async sampleAll(containers: ContainerMeta[], concurrency: number): Promise<void> {
    const records: { key: string; value: string }[] = [];
    let i = 0;
    const worker = async () => {
      while (i < containers.length) {
        const c = containers[i++] as ContainerMeta;
        try {
          const sample = await sampleContainer(this.docker, c.id, this.hostMemory);
          // Stopped between listing and sampling (e.g. restarting): nothing to report.
          if (sample) records.push({ key: c.id, value: statsRecord(this.host, c, sample, this.machine) });
        } catch (err) {
          // Usually a container that just stopped.
          this.metrics.statsErrors.inc({ stage: 'sample' });
          this.log.debug({ container: c.name, err: describe(err) }, 'stats sample failed');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, containers.length) }, worker));
    if (!records.length) return;
    try {
      await this.transport.sendAux('stats', records);
      this.metrics.statsSamples.inc(records.length);
    } catch (err) {
      this.metrics.statsErrors.inc({ stage: 'ship' }, records.length);
      this.log.warn({ err: describe(err), samples: records.length }, 'stats samples not shipped; the next interval samples again');
    }
  }

  /** Runs sampleAll every intervalMs over what `list` returns. */
  startSampling(intervalMs: number, concurrency: number, list: () => ContainerMeta[]): void {
    if (intervalMs <= 0) return;
    const tick = async () => {
      if (this.stopped) return;
      const started = Date.now();
      await this.sampleAll(list(), concurrency);
      if (!this.stopped) this.timer = setTimeout(() => void tick(), Math.max(0, intervalMs - (Date.now() - started)));
    };
    this.timer = setTimeout(() => void tick(), Math.min(intervalMs, 1000));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
