/**
 * Which containers the agent follows: Docker's event stream, with a full list after each
 * (re)connection so that nothing started while the stream was down is missed. Starts one follow
 * loop per container (follow-loop.ts), passes lifecycle events on to the aux shipper, and
 * forgets a removed container once its lines are acknowledged. Reconnects with backoff when
 * dockerd restarts.
 */
import { DockerNotFoundError, describe } from '../lib/errors.js';
import { Backoff, sleep } from '../lib/retry.js';
import { ContainerTable, type ContainerState } from './container-state.js';
import { inspectContainer, listContainers } from './docker/containers.js';
import { watchEvents, type DockerEvent, type EventStream } from './docker/events.js';
import { followContainer, type FollowContext } from './follow-loop.js';
import { dropContainerSeries } from './metrics.js';
import { encodeHeader } from './ship/record.js';

/** How long a follow stream may stay open after its container died before it is taken as stuck. */
const STALE_AFTER_DIE_MS = 3_000;

export class Discovery {
  readonly containers = new ContainerTable();
  private events: EventStream | undefined;
  private loop: Promise<void> | undefined;
  /** True while the event stream is open. */
  connected = false;

  constructor(private readonly ctx: FollowContext) {}

  start(): void {
    this.loop = this.watch();
  }

  /** Ends the event stream and every follow loop (each keeps its cursor for the next start). */
  async stop(): Promise<void> {
    this.events?.close();
    for (const f of this.containers.followers()) f.abort();
    await Promise.allSettled(this.containers.loops());
    await this.loop;
  }

  private async watch(): Promise<void> {
    const { docker, log } = this.ctx;
    const backoff = new Backoff(500, 15_000);
    let first = true;
    while (!this.ctx.stopped()) {
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
        this.connected = true;
        await this.resync();
        backoff.reset();
        const broke = await this.events.done;
        this.connected = false;
        if (this.ctx.stopped()) break;
        wait = backoff.next();
        log.warn(broke ? { err: describe(broke), retryInMs: wait } : { retryInMs: wait }, 'Docker event stream ended; reconnecting');
      } catch (err) {
        this.connected = false;
        this.ctx.metrics.dockerErrors.inc({ op: 'events' });
        wait = backoff.next();
        log.warn({ err: describe(err), retryInMs: wait }, 'Docker is unreachable; retrying');
      }
      await sleep(wait);
    }
  }

  /** Follows every running container not followed yet, and reads stopped ones that have unread lines. */
  private async resync(): Promise<void> {
    for (const l of await listContainers(this.ctx.docker)) {
      const c = this.containers.get(l.id);
      if (c && (c.following || c.excluded || (!l.running && c.drained))) continue;
      this.ensureFollowing(l.id);
    }
  }

  private onEvent(e: DockerEvent): void {
    const id = e.Actor?.ID ?? e.id;
    if (!id) return;
    const c = this.containers.get(id);
    if (!c?.excluded && !this.isExcludedByLabels(e)) this.ctx.aux.event(e, c?.meta);
    const action = (e.Action ?? e.status ?? '').split(': ')[0];
    if (c?.meta && (action === 'die' || action === 'stop')) c.meta.running = false;
    if (c && action === 'die') {
      // A follow stream should end when its container stops; one still open shortly after
      // is stuck (Docker, after a rotation) and is closed so the rest is read from the cursor.
      const f = c.follower;
      setTimeout(() => {
        if (c.follower === f) f?.closeStale();
      }, STALE_AFTER_DIE_MS).unref();
    }
    if (c?.meta && (action === 'start' || action === 'restart')) c.meta.running = true;
    switch (e.Action ?? e.status) {
      case 'start':
      case 'restart':
        if (c) c.drained = false;
        this.ensureFollowing(id);
        break;
      case 'rename':
        void this.refreshMeta(id);
        break;
      case 'destroy': {
        const gone = this.containers.of(id);
        gone.destroyed = true;
        gone.meta = undefined;
        if (!gone.following) void this.forget(gone);
        break;
      }
      default:
        break;
    }
  }

  private ensureFollowing(id: string): void {
    const c = this.containers.of(id);
    if (c.following || this.ctx.stopped()) return;
    // Set before the loop's first await: an event and a resync never both start one.
    c.loop = followContainer(this.ctx, c).finally(() => {
      c.loop = undefined;
      c.follower = undefined;
      if (c.destroyed) void this.forget(c);
    });
  }

  /** Events of containers never followed: excluded the same way, by the labels in the event. */
  private isExcludedByLabels(e: DockerEvent): boolean {
    const a = e.Actor?.Attributes ?? {};
    const verdict = this.ctx.filter.decide({ id: '', name: a.name ?? '', image: a.image ?? '', imageId: '', labels: a, tty: false, running: false, env: [], created: '', startedAt: '', finishedAt: '', exitCode: 0, logDriver: '', logPath: '' });
    return !verdict.follow;
  }

  private async refreshMeta(id: string): Promise<void> {
    try {
      const meta = await inspectContainer(this.ctx.docker, id);
      const c = this.containers.get(id);
      if (c?.following) {
        c.meta = meta;
        this.ctx.shipper.setContainer(id, meta.name, encodeHeader(this.ctx.config.host, meta));
        this.ctx.log.info({ id: id.slice(0, 12), name: meta.name }, 'container renamed');
      }
    } catch (err) {
      if (!(err instanceof DockerNotFoundError)) this.ctx.metrics.dockerErrors.inc({ op: 'inspect' });
    }
  }

  /** A removed container: once its lines are acknowledged, its cursor is no longer needed. */
  private async forget(c: ContainerState): Promise<void> {
    const { shipper, metrics, config, checkpoints } = this.ctx;
    await shipper.flushed();
    if (c.following) return;
    const name = shipper.nameOf(c.id);
    if (name !== undefined) {
      // Its per-container series go too, after a few scrapes have seen their last values,
      // unless a container of the same name (compose recreates under the old name) follows.
      setTimeout(() => {
        if (!this.containers.hasName(name)) dropContainerSeries(metrics, name);
      }, config.containerTtlMs).unref();
    }
    if (this.containers.get(c.id) === c) this.containers.delete(c.id);
    checkpoints.forget(c.id);
    shipper.removeContainer(c.id);
  }
}
