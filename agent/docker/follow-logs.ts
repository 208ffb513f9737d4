/**
 * Follows one container's log stream: decode entries, rebuild lines per stream, merge
 * multi-line records if asked, hand lines to the shipper, and pause reading when the
 * shipper is full (Docker's own log file is then the buffer).
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../../lib/logger.js';
import { describe } from '../../lib/errors.js';
import type { AgentMetrics } from '../metrics.js';
import type { Shipper } from '../ship/shipper.js';
import type { Cursor } from './assemble-lines.js';
import type { DockerClient } from './client.js';
import type { ContainerMeta } from './containers.js';
import { MultiplexedDecoder, RawDecoder } from './decode-frames.js';
import { minTs, toSinceParam } from './docker-time.js';
import { LineFlow, type LineFlowOptions } from './line-flow.js';
import type { RecordCursor } from '../ship/record.js';

export interface FollowOptions extends LineFlowOptions {
  /** Where to start when there is no cursor: a `since` value ("0" = from the beginning). */
  since: string;
  follow: boolean;
}

export type FollowEnd = 'ended' | 'aborted' | 'error' | 'stale' | 'reopen';

export class LogFollower {
  private readonly lines: LineFlow;
  private res: IncomingMessage | undefined;
  private aborted = false;
  private stale = false;
  private reopen = false;
  private paused = false;

  constructor(
    private readonly docker: DockerClient,
    readonly meta: ContainerMeta,
    private readonly resume: RecordCursor | undefined,
    private readonly shipper: Shipper,
    private readonly opts: FollowOptions,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
  ) {
    this.lines = new LineFlow(meta, resume, shipper, opts, metrics, log);
  }

  /** The cursor after the last line handed to the shipper, per stream: where a later follow resumes. */
  get cursor(): RecordCursor {
    return this.lines.cursor;
  }

  /** Reads until the stream ends (container stopped, or not following) or abort() is called. */
  async run(): Promise<FollowEnd> {
    const since = this.sinceParam();
    let res: IncomingMessage;
    try {
      res = await this.docker.stream(`/containers/${this.meta.id}/logs`, {
        follow: this.opts.follow,
        stdout: true,
        stderr: true,
        timestamps: true,
        since,
      });
    } catch (err) {
      this.metrics.dockerErrors.inc({ op: 'logs' });
      this.log.warn({ container: this.meta.name, err: describe(err) }, 'cannot open log stream');
      return 'error';
    }
    this.res = res;
    if (this.aborted) res.destroy();
    const decoder = this.meta.tty ? new RawDecoder() : new MultiplexedDecoder();
    const onEntry = this.lines.push;
    return new Promise<FollowEnd>((resolve) => {
      let settled = false;
      this.lines.start();
      const finish = (how: FollowEnd) => {
        if (settled) return;
        settled = true;
        this.lines.stop();
        resolve(how);
      };
      res.on('data', (chunk: Buffer) => {
        try {
          decoder.push(chunk, onEntry);
        } catch (err) {
          this.metrics.dockerErrors.inc({ op: 'decode' });
          this.log.error({ container: this.meta.name, err: describe(err) }, 'log stream does not parse; reopening it from the last good line');
          res.destroy();
          finish('error');
          return;
        }
        if (this.opts.follow && this.lines.replays > 0 && !this.reopen) {
          // Docker's follow reader went back in time (json-file rotation, seen with 20.10);
          // it can also skip part of the rotated file afterwards. Start a fresh reader from
          // the cursor instead of trusting this one.
          this.reopen = true;
          this.lines.countRead();
          res.destroy();
          finish('reopen');
          return;
        }
        if (this.shipper.full && !this.paused) {
          this.paused = true;
          res.pause();
          void this.shipper.waitForRoom().then(() => {
            this.paused = false;
            if (!res.destroyed) res.resume();
          });
        }
        this.lines.chunkDone();
      });
      res.on('end', () => {
        if (decoder instanceof RawDecoder) decoder.end(onEntry);
        if (decoder instanceof MultiplexedDecoder && decoder.truncated) {
          this.log.warn({ container: this.meta.name }, 'log stream ended inside a frame; the rest is read again on the next follow');
          finish('error');
          return;
        }
        if (this.aborted) {
          finish('aborted');
          return;
        }
        // A follow stream can end before Docker sent the last entries of a container that
        // just stopped (seen with 20.10), so only a plain read's end is the log's end: after
        // a follow ends, unfinished lines are left for the drain read that comes next.
        if (!this.opts.follow) this.lines.flushAll();
        finish('ended');
      });
      res.on('error', (err) => {
        if (!this.aborted && !this.stale && !this.reopen) {
          this.metrics.dockerErrors.inc({ op: 'logs' });
          this.log.warn({ container: this.meta.name, err: describe(err) }, 'log stream broke');
        }
        finish(this.aborted ? 'aborted' : this.stale ? 'stale' : this.reopen ? 'reopen' : 'error');
      });
      res.on('close', () => finish(this.aborted ? 'aborted' : this.stale ? 'stale' : this.reopen ? 'reopen' : 'error'));
    });
  }

  /** Stops reading; lines not yet complete are left for the next follow to read again. */
  abort(): void {
    this.aborted = true;
    this.res?.destroy();
  }

  /**
   * The container stopped but this follow stream did not end (Docker can leave a follower
   * hanging after a log rotation): close it so the caller reads the rest from the cursor.
   */
  closeStale(): void {
    if (!this.opts.follow || this.aborted) return;
    this.stale = true;
    this.res?.destroy();
  }

  private sinceParam(): string | undefined {
    const from = minTs(this.resume?.stdout?.ts, this.resume?.stderr?.ts);
    if (from !== undefined) return toSinceParam(from);
    return this.opts.since === '0' ? undefined : this.opts.since;
  }
}

export type { Cursor };
