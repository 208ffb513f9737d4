/**
 * The agent, composed: Docker and the transport connected, interrupted checkpoints finished,
 * then the shipper, the stats/events shipper and discovery (discovery.ts), which runs one
 * follow loop per container (follow-loop.ts) over one state object each (container-state.ts).
 */
import { totalmem } from 'node:os';
import type { Registry } from 'prom-client';
import { ConfigError, describe } from '../lib/errors.js';
import { connectionHint } from '../lib/kafka-security.js';
import type { Logger } from '../lib/logger.js';
import { retry } from '../lib/retry.js';
import type { AgentConfig } from './config.js';
import { Discovery } from './discovery.js';
import { logFilesFor } from './files/log-files.js';
import type { DockerClient } from './docker/client.js';
import { createAgentMetrics, type AgentMetrics } from './metrics.js';
import { ContainerFilter } from './process/filter.js';
import { AuxShipper } from './ship/aux-shipper.js';
import { CheckpointStore } from './ship/checkpoint-store.js';
import { Shipper } from './ship/shipper.js';
import type { Transport } from './ship/transport.js';
import type { MachineFacts } from '../lib/records.js';

export interface AgentDeps {
  config: AgentConfig;
  docker: DockerClient;
  transport: Transport;
  registry: Registry;
  log: Logger;
  /** Test-only fault hooks (lib/faults.ts), given by main only when a SHIPLOG_FAULT_* setting is on. */
  faults?: { afterAck?: () => void };
}

export interface AgentStatus {
  docker: 'connected' | 'disconnected';
  transport: 'ok' | 'failing';
  transportError?: string;
  followed: number;
  bufferedBytes: number;
  bufferedLines: number;
}

/** What runs once start() has connected: all built together, none before. */
interface Running {
  shipper: Shipper;
  aux: AuxShipper;
  discovery: Discovery;
}

export class Agent {
  readonly metrics: AgentMetrics;
  private readonly filter: ContainerFilter;
  private running: Running | undefined;
  private stopped = false;
  private readonly startedAt = new Date();

  constructor(private readonly deps: AgentDeps) {
    this.filter = new ContainerFilter(deps.config.filter);
    this.metrics = createAgentMetrics(deps.registry, {
      bufferedBytes: () => this.running?.shipper.stats.bufferedBytes ?? 0,
      bufferedLines: () => this.running?.shipper.stats.bufferedLines ?? 0,
      containersFollowed: () => this.running?.discovery.containers.count((c) => c.following) ?? 0,
      containersExcluded: () => this.running?.discovery.containers.count((c) => c.excluded) ?? 0,
      checkpointLag: () => this.running?.shipper.checkpointLag() ?? new Map(),
      host: () => (this.running ? deps.config.host : undefined),
    });
  }

  get status(): AgentStatus {
    const r = this.running;
    return {
      docker: r?.discovery.connected ? 'connected' : 'disconnected',
      transport: r?.shipper.healthy === false || r?.shipper.stalled(10_000) ? 'failing' : 'ok',
      transportError: r?.shipper.lastError,
      followed: r?.discovery.containers.count((c) => c.following) ?? 0,
      bufferedBytes: r?.shipper.stats.bufferedBytes ?? 0,
      bufferedLines: r?.shipper.stats.bufferedLines ?? 0,
    };
  }

  /** Connects to Docker and the transport, finishes interrupted checkpoints, then follows containers. */
  async start(): Promise<void> {
    const { config, docker, transport, log } = this.deps;
    const version = await docker.negotiate();
    log.info({ docker: config.docker.display, apiVersion: version }, 'connected to Docker');
    // `docker info`, asked at most once: for the host name and for where the log files are.
    let asked: Promise<unknown> | undefined;
    const info = () => (asked ??= docker.getJson('/info'));
    if (config.hostFromEngine) config.host = await engineName(info, config.host);
    const files = await logFilesFor(config, info, log);
    const checkpoints = new CheckpointStore(config.dataDir, transport.target);
    const rec = await this.connectTransport(checkpoints);
    for (const [id, cursor] of rec.cursors) {
      checkpoints.advance(id, cursor);
      this.metrics.recoveredContainers.inc();
    }
    for (const [p, off] of rec.endOffsets) checkpoints.setPartitionOffset(p, off);
    checkpoints.persist();
    if (rec.scanned > 0) log.info({ records: rec.scanned, containers: rec.cursors.size }, 'moved checkpoints forward from records acknowledged before the last stop');
    // Fit records and line parts into what the topic takes (base64 adds a third; keep room for the record).
    const maxRecord = transport.maxRecordBytes;
    const recordBytes = Math.min(config.recordBytes, Math.floor(maxRecord / 2));
    const maxLineBytes = Math.min(config.maxLineBytes, Math.max(16 * 1024, Math.floor((maxRecord - 64 * 1024) / 1.4)));
    if (maxLineBytes < config.maxLineBytes) {
      log.warn({ topicMaxMessageBytes: maxRecord, maxLineBytes }, 'the topic takes smaller messages than SHIPLOG_MAX_LINE_BYTES needs; longer lines are shipped in more parts');
    }
    const shipper = new Shipper(
      { batchBytes: config.batchBytes, lingerMs: config.lingerMs, recordBytes, maxBufferBytes: config.maxBufferBytes, afterAck: this.deps.faults?.afterAck },
      transport,
      checkpoints,
      this.metrics,
      log.child({ part: 'shipper' }),
    );
    const aux = new AuxShipper(config.host, docker, transport, this.metrics, log.child({ part: 'aux' }), totalmem(), await machineOf(info));
    const discovery = new Discovery({ config, docker, log, metrics: this.metrics, filter: this.filter, checkpoints, shipper, aux, maxLineBytes, files, stopped: () => this.stopped });
    this.running = { shipper, aux, discovery };
    shipper.start();
    aux.startSampling(config.statsIntervalMs, config.statsConcurrency, () => discovery.containers.running());
    discovery.start();
  }

  /**
   * Starts the transport and reads back what was acknowledged after the last checkpoint,
   * retrying without limit: an agent started while Kafka is down waits for it. A setting that
   * cannot work (credentials the brokers refuse, a certificate that does not verify) is not
   * waited on: it stops start-up.
   */
  private async connectTransport(checkpoints: CheckpointStore): ReturnType<Transport['recover']> {
    const { config, transport, log } = this.deps;
    return retry(
      async () => {
        await transport.start();
        return await transport.recover(checkpoints.partitions(), config.host);
      },
      {
        minMs: 500,
        maxMs: 15_000,
        retriable: (err) => !this.stopped && !(err instanceof ConfigError),
        onError: async (err, wait) => {
          this.metrics.produceErrors.inc();
          const hint = connectionHint(err, config.kafka.security);
          log.warn({ err: describe(err), retryInMs: wait, ...(hint ? { hint } : {}) }, 'transport not available yet; retrying (nothing is read from Docker meanwhile)');
          await transport.stop().catch(() => undefined);
        },
      },
    );
  }

  /** Resolves once every line read so far is acknowledged. */
  async flushed(): Promise<void> {
    await this.running?.shipper.flushed();
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopped = true;
    const r = this.running;
    r?.aux.stop();
    await r?.discovery.stop();
    await r?.shipper.stop(timeoutMs);
    await this.deps.transport.stop();
    this.deps.docker.close();
  }

  get startTime(): Date {
    return this.startedAt;
  }
}

/**
 * The name the engine gives its machine (`docker info` Name): in a container, os.hostname() is
 * the container's id, and a compose default was one name for every host. Kept to what a host
 * name can be; `fallback` when the engine says nothing usable.
 */
async function engineName(info: () => Promise<unknown>, fallback: string): Promise<string> {
  try {
    const { Name } = (await info()) as { Name?: unknown };
    if (typeof Name === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(Name)) return Name;
  } catch {
    // The engine answered negotiate(); a failing /info leaves the local name.
  }
  return fallback;
}

/** The engine host's CPUs and memory (`docker info`: NCPU, MemTotal) for cAdvisor's machine_*; undefined when the engine does not say. */
async function machineOf(info: () => Promise<unknown>): Promise<MachineFacts | undefined> {
  try {
    const j = (await info()) as { NCPU?: unknown; MemTotal?: unknown };
    const cores = j.NCPU;
    const memory = j.MemTotal;
    return typeof cores === 'number' && typeof memory === 'number' && cores > 0 && memory > 0 ? { cpu_cores: cores, memory_bytes: memory } : undefined;
  } catch {
    return undefined;
  }
}
