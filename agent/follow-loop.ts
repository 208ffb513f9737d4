/**
 * One container's follow/drain state machine: inspect → decide (filter, log driver, already
 * drained) → read its log with a LogFollower, resuming from the cursor → when the stream ends,
 * ask Docker whether it still runs:
 *   running              → follow again (after a pause if the read failed);
 *   stopped, was follow  → one plain read from the cursor for what the follow stream left out;
 *   stopped, plain read  → drained: its end is checkpointed once its lines are acknowledged.
 * A stream that stays open after its container stopped (Docker, after a rotation) is closed by
 * discovery and read to the end the same way.
 */
import { DockerNotFoundError, describe } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { Backoff, sleep } from '../lib/retry.js';
import type { AgentConfig } from './config.js';
import type { ContainerState } from './container-state.js';
import type { DockerClient } from './docker/client.js';
import { inspectContainer, READABLE_LOG_DRIVERS, type ContainerMeta } from './docker/containers.js';
import { LogFollower } from './docker/follow-logs.js';
import { FileFollower } from './files/file-follower.js';
import type { LogFiles } from './files/log-files.js';
import type { AgentMetrics } from './metrics.js';
import type { ContainerFilter } from './process/filter.js';
import { parseMultiline, type MultilineSpec } from './process/multiline.js';
import type { AuxShipper } from './ship/aux-shipper.js';
import type { CheckpointStore } from './ship/checkpoint-store.js';
import type { FilePosition } from './files/tail-file.js';
import { encodeHeader, type RecordCursor } from './ship/record.js';
import type { Shipper } from './ship/shipper.js';

/** How often a followed log file is looked at when no change was signalled (fs.watch is the fast path). */
const FILE_POLL_MS = 1000;

/** What a follow loop works with, all built before the first container is followed. */
export interface FollowContext {
  config: AgentConfig;
  docker: DockerClient;
  log: Logger;
  metrics: AgentMetrics;
  filter: ContainerFilter;
  checkpoints: CheckpointStore;
  shipper: Shipper;
  aux: AuxShipper;
  /** The longest line part the topic takes (SHIPLOG_MAX_LINE_BYTES or less). */
  maxLineBytes: number;
  /** File mode, when the engine's log files can be read (SHIPLOG_DOCKER_LOGS). */
  files: LogFiles | undefined;
  stopped(): boolean;
}

/** Follows one container until it is drained, removed, excluded or the agent stops. */
export async function followContainer(ctx: FollowContext, c: ContainerState): Promise<void> {
  const { log, docker, checkpoints, shipper, config } = ctx;
  const id = c.id;
  const backoff = new Backoff(500, 15_000);
  let meta: ContainerMeta;
  try {
    meta = await inspectContainer(docker, id);
  } catch (err) {
    if (!(err instanceof DockerNotFoundError)) {
      ctx.metrics.dockerErrors.inc({ op: 'inspect' });
      log.warn({ id, err: describe(err) }, 'cannot inspect container');
    }
    return;
  }
  const verdict = ctx.filter.decide(meta);
  if (!verdict.follow) {
    c.excluded = true;
    log.info({ container: meta.name, reason: verdict.reason }, 'not following container');
    return;
  }
  if (!READABLE_LOG_DRIVERS.has(meta.logDriver)) {
    c.excluded = true;
    log.warn({ container: meta.name, driver: meta.logDriver }, 'container uses a log driver the Docker API cannot read back; not following it');
    return;
  }
  const checkpoint = checkpoints.get(id);
  if (!meta.running && checkpoint?.drainedAt !== undefined && checkpoint.drainedAt === meta.finishedAt) {
    // Stopped, and read to its end (and acknowledged) after this very stop.
    c.drained = true;
    return;
  }
  let multiline: MultilineSpec | undefined;
  const ml = meta.labels['shiplog.multiline'];
  if (ml) {
    const spec = parseMultiline(ml);
    if (typeof spec === 'string') log.warn({ container: meta.name }, `${spec}; following without multiline merging`);
    else multiline = spec;
  }
  shipper.setContainer(id, meta.name, encodeHeader(config.host, meta));
  c.meta = meta;
  if (!meta.running && meta.finishedAt !== '' && !c.cursor) {
    // It ended while no agent was watching (before the first start — the crash someone
    // installs shiplog for — or while this one was stopped): its die event was never seen, so
    // its end is recorded from inspect, with its exit code. (Drained containers returned above.)
    ctx.aux.event({ Action: 'die', Actor: { ID: id, Attributes: { name: meta.name, image: meta.image, exitCode: String(meta.exitCode) } }, timeNano: Date.parse(meta.finishedAt) * 1e6 }, meta);
  }
  const file = ctx.files?.pathOf(meta);
  log.info({ container: meta.name, id: id.slice(0, 12), tty: meta.tty, multiline: multiline?.name, from: file ?? 'api', resumeFrom: c.cursor ?? checkpoint }, 'following container');
  // A stopped container is read to its end once, not followed: following it too ends with a
  // second read from the cursor (below), which costs dockerd a scan of the whole log (its
  // `since` filter decodes every entry before it: 6 CPU-s for a 2 M-line log). If it starts
  // again meanwhile, the read after this one follows.
  let follow = meta.running;
  while (!ctx.stopped()) {
    const opts = {
      maxLineBytes: ctx.maxLineBytes,
      multiline,
      multilineLimits: { maxLines: config.multilineMaxLines, maxBytes: ctx.maxLineBytes },
      multilineFlushMs: config.multilineFlushMs,
      shortPiecesArePartial: docker.engine === 'podman',
      since: startFrom(meta, config, checkpoints),
      follow,
    };
    const resume = resumeCursor(c, checkpoints);
    const follower = file
      ? new FileFollower(meta, resume, shipper, { ...opts, path: file, from: resumeFile(c, checkpoints), fromThisRun: c.filePos !== undefined && resume === c.cursor, pollMs: FILE_POLL_MS }, ctx.metrics, log)
      : new LogFollower(docker, meta, resume, shipper, opts, ctx.metrics, log);
    c.follower = follower;
    const how = await follower.run();
    c.follower = undefined;
    c.cursor = follower.cursor;
    if (follower instanceof FileFollower) c.filePos = follower.position ?? c.filePos;
    if (ctx.stopped() || how === 'aborted') return;
    if (how === 'reopen') {
      ctx.metrics.streamReopens.inc();
      continue;
    }
    let running: boolean;
    try {
      const now = await inspectContainer(docker, id);
      running = now.running;
      c.meta = now;
      if (now.name !== meta.name) {
        meta = now;
        shipper.setContainer(id, meta.name, encodeHeader(config.host, meta));
      }
    } catch (err) {
      if (err instanceof DockerNotFoundError) return;
      running = true; // Docker is away: try again after a pause
    }
    // (A file is always closed this way once its container stops; a stream should have ended.)
    if (how === 'stale' && !file) log.warn({ container: meta.name }, 'log stream still open after the container stopped; reading the rest from the cursor');
    if ((how === 'ended' || how === 'stale') && !running && follow) {
      // Stopped: one plain read from the cursor picks up what the follow stream left out.
      follow = false;
      continue;
    }
    if (how === 'ended' && !running) {
      c.drained = true;
      log.info({ container: meta.name }, 'container stopped; its log is read to the end');
      await markDrained(ctx, id);
      return;
    }
    follow = true;
    if (how === 'error') await sleep(backoff.next());
    else backoff.reset();
  }
}

/** Once a stopped container's last lines are acknowledged, later start-ups need not read it again. */
async function markDrained(ctx: FollowContext, id: string): Promise<void> {
  await ctx.shipper.flushed();
  try {
    const meta = await inspectContainer(ctx.docker, id);
    if (meta.running || meta.finishedAt === '') return;
    ctx.checkpoints.markDrained(id, meta.finishedAt);
    ctx.shipper.persistCheckpoints();
  } catch (err) {
    if (!(err instanceof DockerNotFoundError)) ctx.log.debug({ err: describe(err) }, 'could not mark container drained');
  }
}

/** File mode: where the file of the cursor resumeCursor gives may be read from. */
function resumeFile(c: ContainerState, checkpoints: CheckpointStore): FilePosition | undefined {
  const mem = c.cursor;
  if (mem && (mem.stdout || mem.stderr)) return c.filePos;
  return checkpoints.get(c.id)?.file;
}

/** Where to read from: this process's last position, else the checkpoint. */
function resumeCursor(c: ContainerState, checkpoints: CheckpointStore): RecordCursor | undefined {
  const mem = c.cursor;
  if (mem && (mem.stdout || mem.stderr)) return mem;
  const cp = checkpoints.get(c.id);
  return cp && (cp.stdout || cp.stderr) ? { stdout: cp.stdout, stderr: cp.stderr } : undefined;
}

/**
 * Without a cursor: a container created after the agent's first start is read from its
 * beginning; one that existed then (running or exited) from SHIPLOG_BACKLOG before it.
 */
function startFrom(meta: ContainerMeta, config: AgentConfig, checkpoints: CheckpointStore): string {
  const backlog = config.backlog;
  if (backlog === 'all') return '0';
  const first = checkpoints.firstStart;
  if (meta.created === '' || meta.created >= first) return '0';
  return String(Math.max(0, Math.floor((Date.parse(first) - backlog.ms) / 1000)));
}
