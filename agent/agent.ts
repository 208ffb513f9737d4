/**
 * The agent: discovers containers (list + events), runs one log follower per followed
 * container, and ships through the shipper. Reconnects to Docker with backoff when dockerd
 * restarts, and resumes every container from its cursor.
 */
import type { Registry } from 'prom-client';
import { DockerNotFoundError, describe } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { Backoff, retry, sleep } from '../lib/retry.js';
import type { AgentConfig } from './config.js';
import type { DockerClient } from './docker/client.js';
import { inspectContainer, listContainers, READABLE_LOG_DRIVERS, type ContainerMeta } from './docker/containers.js';
import { watchEvents, type DockerEvent, type EventStream } from './docker/events.js';
import { LogFollower } from './docker/follow-logs.js';
import { createAgentMetrics, dropContainerSeries, type AgentMetrics } from './metrics.js';
import { ContainerFilter } from './process/filter.js';
import { parseMultiline, type MultilineSpec } from './process/multiline.js';
import { CheckpointStore } from './ship/checkpoint-store.js';
import { encodeHeader, type RecordCursor } from './ship/record.js';
import { Shipper } from './ship/shipper.js';
import { AuxShipper } from './ship/aux-shipper.js';
import { totalmem } from 'node:os';
import type { Transport } from './ship/transport.js';

export interface AgentDeps {
  config: AgentConfig;
  docker: DockerClient;
  transport: Transport;
  registry: Registry;
  log: Logger;
}

export interface AgentStatus {
  docker: 'connected' | 'disconnected';
  transport: 'ok' | 'failing';
  transportError?: string;
  followed: number;
  bufferedBytes: number;
  bufferedLines: number;
}

export class Agent {
  readonly metrics: AgentMetrics;
  private readonly filter: ContainerFilter;
  private checkpoints!: CheckpointStore;
  private shipper!: Shipper;
  private readonly followers = new Map<string, LogFollower>();
  /** Cursor reached by the last follower of each container in this process (may be ahead of the checkpoint). */
  private readonly cursors = new Map<string, RecordCursor>();
  private readonly excluded = new Set<string>();
  /** Stopped containers already read to their end in this process. */
  private readonly drained = new Set<string>();
  private readonly destroyed = new Set<string>();
  /** Metadata of followed containers, for stats samples and events. */
  private readonly metas = new Map<string, ContainerMeta>();
  private aux!: AuxShipper;
  private readonly loops = new Set<Promise<void>>();
  private events: EventStream | undefined;
  private eventsConnected = false;
  private stopped = false;
  private watchLoop: Promise<void> | undefined;
  private readonly startedAt = new Date();
  private maxLineBytes = 0;
  private recordBytes = 0;

  constructor(private readonly deps: AgentDeps) {
    this.filter = new ContainerFilter(deps.config.filter);
    this.metrics = createAgentMetrics(deps.registry, {
      bufferedBytes: () => this.shipper?.stats.bufferedBytes ?? 0,
      bufferedLines: () => this.shipper?.stats.bufferedLines ?? 0,
      containersFollowed: () => this.followers.size,
      containersExcluded: () => this.excluded.size,
      checkpointLag: () => this.shipper?.checkpointLag() ?? new Map(),
    });
  }

  get status(): AgentStatus {
    return {
      docker: this.eventsConnected ? 'connected' : 'disconnected',
      transport: this.shipper?.healthy === false || this.shipper?.stalled(10_000) ? 'failing' : 'ok',
      transportError: this.shipper?.lastError,
      followed: this.followers.size,
      bufferedBytes: this.shipper?.stats.bufferedBytes ?? 0,
      bufferedLines: this.shipper?.stats.bufferedLines ?? 0,
    };
  }

  /** Connects to Docker and the transport, finishes interrupted checkpoints, then follows containers. */
  async start(): Promise<void> {
    const { config, docker, transport, log } = this.deps;
    const version = await docker.negotiate();
    log.info({ docker: config.docker.display, apiVersion: version }, 'connected to Docker');
    this.checkpoints = new CheckpointStore(config.dataDir, transport.target);
    const rec = await this.connectTransport();
    for (const [id, cursor] of rec.cursors) {
      this.checkpoints.advance(id, cursor);
      this.metrics.recoveredContainers.inc();
    }
    for (const [p, off] of rec.endOffsets) this.checkpoints.setPartitionOffset(p, off);
    this.checkpoints.persist();
    if (rec.scanned > 0) log.info({ records: rec.scanned, containers: rec.cursors.size }, 'moved checkpoints forward from records acknowledged before the last stop');
    // Fit records and line parts into what the topic takes (base64 adds a third; keep room for the record).
    const maxRecord = transport.maxRecordBytes;
    this.recordBytes = Math.min(config.recordBytes, Math.floor(maxRecord / 2));
    this.maxLineBytes = Math.min(config.maxLineBytes, Math.max(16 * 1024, Math.floor((maxRecord - 64 * 1024) / 1.4)));
    if (this.maxLineBytes < config.maxLineBytes) {
      log.warn({ topicMaxMessageBytes: maxRecord, maxLineBytes: this.maxLineBytes }, 'the topic takes smaller messages than SHIPLOG_MAX_LINE_BYTES needs; longer lines are shipped in more parts');
    }
    this.shipper = new Shipper(
      {
        batchBytes: config.batchBytes,
        lingerMs: config.lingerMs,
        recordBytes: this.recordBytes,
        maxBufferBytes: config.maxBufferBytes,
        killAfterAcks: config.faultKillAfterAcks,
      },
      transport,
      this.checkpoints,
      this.metrics,
      log.child({ part: 'shipper' }),
    );
    this.shipper.start();
    this.aux = new AuxShipper(config.host, this.deps.docker, transport, this.metrics, log.child({ part: 'aux' }), totalmem());
    this.aux.startSampling(config.statsIntervalMs, config.statsConcurrency, () => [...this.metas.values()].filter((m) => m.running));
    this.watchLoop = this.watch();
  }

  /**
   * Starts the transport and reads back what was acknowledged after the last checkpoint,
   * retrying without limit: an agent started while Kafka is down waits for it.
   */
  private async connectTransport(): ReturnType<Transport['recover']> {
    const { config, transport, log } = this.deps;
    return retry(
      async () => {
        await transport.start();
        return await transport.recover(this.checkpoints.partitions(), config.host);
      },
      {
        minMs: 500,
        maxMs: 15_000,
        retriable: () => !this.stopped,
        onError: async (err, wait) => {
          this.metrics.produceErrors.inc();
          log.warn({ err: describe(err), retryInMs: wait }, 'transport not available yet; retrying (nothing is read from Docker meanwhile)');
          await transport.stop().catch(() => undefined);
        },
      },
    );
  }

  /** Resolves once every line read so far is acknowledged. */
  flushed(): Promise<void> {
    return this.shipper.flushed();
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopped = true;
    this.aux?.stop();
    this.events?.close();
    for (const f of this.followers.values()) f.abort();
    await Promise.allSettled([...this.loops]);
    await this.watchLoop;
    await this.shipper?.stop(timeoutMs);
    await this.deps.transport.stop();
    this.deps.docker.close();
  }

  private async watch(): Promise<void> {
    const { docker, log } = this.deps;
    const backoff = new Backoff(500, 15_000);
    let first = true;
    while (!this.stopped) {
      let wait: number;
      try {
        if (!first) await docker.negotiate();
        first = false;
        this.events = await watchEvents(
          docker,
          undefined,
          (e) => this.onEvent(e),
          (line) => log.warn({ line: line.slice(0, 200) }, 'Docker event is not JSON; skipped'),
        );
        this.eventsConnected = true;
        await this.resync();
        backoff.reset();
        const broke = await this.events.done;
        this.eventsConnected = false;
        if (this.stopped) break;
        wait = backoff.next();
        log.warn(broke ? { err: describe(broke), retryInMs: wait } : { retryInMs: wait }, 'Docker event stream ended; reconnecting');
      } catch (err) {
        this.eventsConnected = false;
        this.metrics.dockerErrors.inc({ op: 'events' });
        wait = backoff.next();
        log.warn({ err: describe(err), retryInMs: wait }, 'Docker is unreachable; retrying');
      }
      await sleep(wait);
    }
  }

  /** Follows every running container not followed yet, and reads stopped ones that have unread lines. */
  private async resync(): Promise<void> {
    const list = await listContainers(this.deps.docker);
    for (const c of list) {
      if (this.followers.has(c.id) || this.excluded.has(c.id)) continue;
      if (!c.running && this.drained.has(c.id)) continue;
      this.ensureFollowing(c.id);
    }
  }

  private onEvent(e: DockerEvent): void {
    const id = e.Actor?.ID ?? e.id;
    if (!id) return;
    if (!this.excluded.has(id) && !this.isExcludedByLabels(e)) this.aux.event(e, this.metas.get(id));
    const action = (e.Action ?? e.status ?? '').split(': ')[0];
    const meta = this.metas.get(id);
    if (meta && (action === 'die' || action === 'stop')) meta.running = false;
    if (action === 'die') {
      // A follow stream should end when its container stops; one still open shortly after
      // is stuck (Docker, after a rotation) and is closed so the rest is read from the cursor.
      const f = this.followers.get(id);
      setTimeout(() => {
        if (this.followers.get(id) === f) f?.closeStale();
      }, 3000).unref();
    }
    if (meta && (action === 'start' || action === 'restart')) meta.running = true;
    switch (e.Action ?? e.status) {
      case 'start':
      case 'restart':
        this.drained.delete(id);
        this.ensureFollowing(id);
        break;
      case 'rename':
        void this.refreshMeta(id);
        break;
      case 'destroy':
        this.destroyed.add(id);
        this.metas.delete(id);
        if (!this.followers.has(id)) void this.forget(id);
        break;
      default:
        break;
    }
  }

  private ensureFollowing(id: string): void {
    if (this.followers.has(id) || this.stopped) return;
    // Reserve the slot synchronously so that an event and a resync do not both start one.
    this.followers.set(id, PLACEHOLDER);
    const loop = this.followLoop(id).finally(() => {
      this.loops.delete(loop);
      this.followers.delete(id);
      if (this.destroyed.has(id)) void this.forget(id);
    });
    this.loops.add(loop);
  }

  private async followLoop(id: string): Promise<void> {
    const { log } = this.deps;
    const backoff = new Backoff(500, 15_000);
    let meta: ContainerMeta;
    try {
      meta = await inspectContainer(this.deps.docker, id);
    } catch (err) {
      if (!(err instanceof DockerNotFoundError)) {
        this.metrics.dockerErrors.inc({ op: 'inspect' });
        log.warn({ id, err: describe(err) }, 'cannot inspect container');
      }
      return;
    }
    const verdict = this.filter.decide(meta);
    if (!verdict.follow) {
      this.excluded.add(id);
      log.info({ container: meta.name, reason: verdict.reason }, 'not following container');
      return;
    }
    if (!READABLE_LOG_DRIVERS.has(meta.logDriver)) {
      this.excluded.add(id);
      log.warn({ container: meta.name, driver: meta.logDriver }, 'container uses a log driver the Docker API cannot read back; not following it');
      return;
    }
    const checkpoint = this.checkpoints.get(id);
    if (!meta.running && checkpoint?.drainedAt !== undefined && checkpoint.drainedAt === meta.finishedAt) {
      // Stopped, and read to its end (and acknowledged) after this very stop.
      this.drained.add(id);
      return;
    }
    let multiline: MultilineSpec | undefined;
    const ml = meta.labels['shiplog.multiline'];
    if (ml) {
      const spec = parseMultiline(ml);
      if (typeof spec === 'string') log.warn({ container: meta.name }, `${spec}; following without multiline merging`);
      else multiline = spec;
    }
    this.shipper.setContainer(id, meta.name, encodeHeader(this.deps.config.host, meta));
    this.metas.set(id, meta);
    if (!meta.running && meta.finishedAt !== '' && !this.cursors.has(id)) {
      // It ended while no agent was watching (before the first start — the crash someone
      // installs shiplog for — or while this one was stopped): its die event was never seen, so
      // its end is recorded from inspect, with its exit code. (Drained containers returned above.)
      this.aux.event({ Action: 'die', Actor: { ID: id, Attributes: { name: meta.name, image: meta.image, exitCode: String(meta.exitCode) } }, timeNano: Date.parse(meta.finishedAt) * 1e6 }, meta);
    }
    log.info({ container: meta.name, id: id.slice(0, 12), tty: meta.tty, multiline: multiline?.name, resumeFrom: this.cursors.get(id) ?? checkpoint }, 'following container');
    let follow = true;
    while (!this.stopped) {
      const follower = new LogFollower(
        this.deps.docker,
        meta,
        this.resumeCursor(id),
        this.shipper,
        {
          maxLineBytes: this.maxLineBytes,
          multiline,
          multilineLimits: { maxLines: this.deps.config.multilineMaxLines, maxBytes: this.maxLineBytes },
          multilineFlushMs: this.deps.config.multilineFlushMs,
          since: this.startFrom(meta),
          follow,
        },
        this.metrics,
        log,
      );
      this.followers.set(id, follower);
      const how = await follower.run();
      this.cursors.set(id, follower.cursor);
      if (this.stopped || how === 'aborted') return;
      if (how === 'reopen') {
        this.metrics.streamReopens.inc();
        continue;
      }
      let running: boolean;
      try {
        const now = await inspectContainer(this.deps.docker, id);
        running = now.running;
        this.metas.set(id, now);
        if (now.name !== meta.name) {
          meta = now;
          this.shipper.setContainer(id, meta.name, encodeHeader(this.deps.config.host, meta));
        }
      } catch (err) {
        if (err instanceof DockerNotFoundError) return;
        running = true; // Docker is away: try again after a pause
      }
      if (how === 'stale') log.warn({ container: meta.name }, 'log stream still open after the container stopped; reading the rest from the cursor');
      if ((how === 'ended' || how === 'stale') && !running && follow) {
        // Stopped: one plain read from the cursor picks up what the follow stream left out.
        follow = false;
        continue;
      }
      if (how === 'ended' && !running) {
        this.drained.add(id);
        log.info({ container: meta.name }, 'container stopped; its log is read to the end');
        await this.markDrained(id);
        return;
      }
      follow = true;
      if (how === 'error') await sleep(backoff.next());
      else backoff.reset();
    }
  }

  /** Once a stopped container's last lines are acknowledged, later start-ups need not read it again. */
  private async markDrained(id: string): Promise<void> {
    await this.shipper.flushed();
    try {
      const meta = await inspectContainer(this.deps.docker, id);
      if (meta.running || meta.finishedAt === '') return;
      this.checkpoints.markDrained(id, meta.finishedAt);
      this.shipper.persistCheckpoints();
    } catch (err) {
      if (!(err instanceof DockerNotFoundError)) this.deps.log.debug({ err: describe(err) }, 'could not mark container drained');
    }
  }

  /** Events of containers never followed: excluded the same way, by the labels in the event. */
  private isExcludedByLabels(e: DockerEvent): boolean {
    const a = e.Actor?.Attributes ?? {};
    const verdict = this.filter.decide({ id: '', name: a.name ?? '', image: a.image ?? '', imageId: '', labels: a, tty: false, running: false, env: [], created: '', startedAt: '', finishedAt: '', exitCode: 0, logDriver: '' });
    return !verdict.follow;
  }

  private resumeCursor(id: string): RecordCursor | undefined {
    const mem = this.cursors.get(id);
    if (mem && (mem.stdout || mem.stderr)) return mem;
    const cp = this.checkpoints.get(id);
    return cp && (cp.stdout || cp.stderr) ? { stdout: cp.stdout, stderr: cp.stderr } : undefined;
  }

  /**
   * Without a cursor: a container created after the agent's first start is read from its
   * beginning; one that existed then (running or exited) from SHIPLOG_BACKLOG before it.
   */
  private startFrom(meta: ContainerMeta): string {
    const backlog = this.deps.config.backlog;
    if (backlog === 'all') return '0';
    const first = this.checkpoints.firstStart;
    if (meta.created === '' || meta.created >= first) return '0';
    return String(Math.max(0, Math.floor((Date.parse(first) - backlog.ms) / 1000)));
  }

  private async refreshMeta(id: string): Promise<void> {
    try {
      const meta = await inspectContainer(this.deps.docker, id);
      if (this.followers.has(id)) {
        this.metas.set(id, meta);
        this.shipper.setContainer(id, meta.name, encodeHeader(this.deps.config.host, meta));
        this.deps.log.info({ id: id.slice(0, 12), name: meta.name }, 'container renamed');
      }
    } catch (err) {
      if (!(err instanceof DockerNotFoundError)) this.metrics.dockerErrors.inc({ op: 'inspect' });
    }
  }

  /** A removed container: once its lines are acknowledged, its cursor is no longer needed. */
  private async forget(id: string): Promise<void> {
    await this.shipper.flushed();
    if (this.followers.has(id)) return;
    const name = this.shipper.nameOf(id);
    if (name !== undefined) {
      // Its per-container series go too, after a few scrapes have seen their last values,
      // unless a container of the same name (compose recreates under the old name) follows.
      setTimeout(() => {
        for (const m of this.metas.values()) if (m.name === name) return;
        dropContainerSeries(this.metrics, name);
      }, this.deps.config.containerTtlMs).unref();
    }
    this.destroyed.delete(id);
    this.cursors.delete(id);
    this.drained.delete(id);
    this.excluded.delete(id);
    this.checkpoints.forget(id);
    this.shipper.removeContainer(id);
  }

  get startTime(): Date {
    return this.startedAt;
  }
}

const PLACEHOLDER = { abort() {}, closeStale() {}, cursor: {} } as unknown as LogFollower;

