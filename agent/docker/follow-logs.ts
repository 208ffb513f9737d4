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
import { MultilineMerger, type MultilineLimits, type MultilineSpec } from '../process/multiline.js';
import { LineAssembler, type Cursor, type Line } from './assemble-lines.js';
import type { DockerClient } from './client.js';
import type { ContainerMeta } from './containers.js';
import { MultiplexedDecoder, RawDecoder, STDERR, STDOUT, type LogEntry } from './decode-frames.js';
import { minTs, toSinceParam } from './docker-time.js';
import type { RecordCursor } from '../ship/record.js';

type CounterChild = { inc(n: number): void };

export interface FollowOptions {
  maxLineBytes: number;
  multiline?: MultilineSpec;
  multilineLimits: MultilineLimits;
  multilineFlushMs: number;
  /** Where to start when there is no cursor: a `since` value ("0" = from the beginning). */
  since: string;
  follow: boolean;
}

export type FollowEnd = 'ended' | 'aborted' | 'error' | 'stale' | 'reopen';

export class LogFollower {
  private readonly out: LineAssembler;
  private readonly err: LineAssembler;
  private readonly mlOut: MultilineMerger | undefined;
  private readonly mlErr: MultilineMerger | undefined;
  private res: IncomingMessage | undefined;
  private aborted = false;
  private stale = false;
  private reopen = false;
  private paused = false;
  private mlTimer: NodeJS.Timeout | undefined;
  private readonly readOut: { lines: CounterChild; bytes: CounterChild };
  private readonly readErr: { lines: CounterChild; bytes: CounterChild };
  private readonly emitted: RecordCursor;
  private linesOut = 0;
  private linesErr = 0;
  private bytesOut = 0;
  private bytesErr = 0;
  private mergedCounted = 0;
  private replayedCounted = 0;

  constructor(
    private readonly docker: DockerClient,
    readonly meta: ContainerMeta,
    private readonly resume: RecordCursor | undefined,
    private readonly shipper: Shipper,
    private readonly opts: FollowOptions,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
  ) {
    this.out = new LineAssembler(STDOUT, opts.maxLineBytes, meta.tty, resume?.stdout);
    this.err = new LineAssembler(STDERR, opts.maxLineBytes, meta.tty, resume?.stderr);
    if (opts.multiline) {
      this.mlOut = new MultilineMerger(opts.multiline, opts.multilineLimits);
      this.mlErr = new MultilineMerger(opts.multiline, opts.multilineLimits);
    }
    this.emitted = { ...resume };
    // Label lookups hash their labels: done once here, not per chunk.
    this.readOut = { lines: metrics.linesRead.labels(meta.name, 'stdout'), bytes: metrics.bytesRead.labels(meta.name, 'stdout') };
    this.readErr = { lines: metrics.linesRead.labels(meta.name, 'stderr'), bytes: metrics.bytesRead.labels(meta.name, 'stderr') };
  }

  /** The cursor after the last line handed to the shipper, per stream: where a later follow resumes. */
  get cursor(): RecordCursor {
    return { ...this.emitted };
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
    const onEntry = (e: LogEntry) => this.onEntry(e);
    return new Promise<FollowEnd>((resolve) => {
      let settled = false;
      // Read counters go to prom-client in bulk: every 4096 lines, every second, and at the end.
      const counting = setInterval(() => this.countRead(), 1000);
      counting.unref();
      const finish = (how: FollowEnd) => {
        if (settled) return;
        settled = true;
        clearInterval(counting);
        if (this.mlTimer) clearTimeout(this.mlTimer);
        this.countRead();
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
        if (this.opts.follow && (this.out.replays > 0 || this.err.replays > 0) && !this.reopen) {
          // Docker's follow reader went back in time (json-file rotation, seen with 20.10);
          // it can also skip part of the rotated file afterwards. Start a fresh reader from
          // the cursor instead of trusting this one.
          this.reopen = true;
          this.countRead();
          res.destroy();
          finish('reopen');
          return;
        }
        if (this.linesOut + this.linesErr >= 4096) this.countRead();
        if (this.shipper.full && !this.paused) {
          this.paused = true;
          res.pause();
          void this.shipper.waitForRoom().then(() => {
            this.paused = false;
            if (!res.destroyed) res.resume();
          });
        }
        this.armMultilineTimer();
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
        if (!this.opts.follow) this.flushAll();
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

  private onEntry(e: LogEntry): void {
    if (e.stream === STDERR) this.err.push(e, this.onLineErr);
    else this.out.push(e, this.onLineOut);
  }

  private readonly onLineOut = (line: Line): void => {
    if (this.mlOut) this.mlOut.push(line, Date.now(), this.emit);
    else this.emit(line);
  };

  private readonly onLineErr = (line: Line): void => {
    if (this.mlErr) this.mlErr.push(line, Date.now(), this.emit);
    else this.emit(line);
  };

  private readonly emit = (line: Line): void => {
    if (line.stream === STDERR) {
      this.emitted.stderr = line.cursor;
      this.linesErr++;
      this.bytesErr += line.msg.length;
    } else {
      this.emitted.stdout = line.cursor;
      this.linesOut++;
      this.bytesOut += line.msg.length;
    }
    if (line.split) this.metrics.linesSplit.inc();
    this.shipper.push(this.meta.id, line);
  };

  private flushAll(): void {
    this.out.flush(this.onLineOut);
    this.err.flush(this.onLineErr);
    this.mlOut?.flush(this.emit);
    this.mlErr?.flush(this.emit);
  }

  private armMultilineTimer(): void {
    if (!this.mlOut || this.mlTimer) return;
    if (!this.mlOut.pending && !this.mlErr?.pending) return;
    this.mlTimer = setTimeout(() => {
      this.mlTimer = undefined;
      const now = Date.now();
      if (this.mlOut && this.mlOut.pending && now - this.mlOut.lastAt >= this.opts.multilineFlushMs) this.mlOut.flush(this.emit);
      if (this.mlErr && this.mlErr.pending && now - this.mlErr.lastAt >= this.opts.multilineFlushMs) this.mlErr.flush(this.emit);
      this.armMultilineTimer();
    }, this.opts.multilineFlushMs);
  }

  /** Metrics are added per chunk, not per line. */
  private countRead(): void {
    const m = this.metrics;
    if (this.linesOut) this.readOut.lines.inc(this.linesOut);
    if (this.bytesOut) this.readOut.bytes.inc(this.bytesOut);
    if (this.linesErr) this.readErr.lines.inc(this.linesErr);
    if (this.bytesErr) this.readErr.bytes.inc(this.bytesErr);
    this.linesOut = this.linesErr = this.bytesOut = this.bytesErr = 0;
    const replayed = this.out.replaySkipped + this.err.replaySkipped;
    if (replayed > this.replayedCounted) {
      m.entriesReplayed.inc({ container: this.meta.name }, replayed - this.replayedCounted);
      if (this.replayedCounted === 0) this.log.info({ container: this.meta.name }, 'Docker sent log entries again (rotation); skipping them');
      this.replayedCounted = replayed;
    }
    const merged = (this.mlOut?.merged ?? 0) + (this.mlErr?.merged ?? 0);
    if (merged > this.mergedCounted) {
      m.multilineMerged.inc(merged - this.mergedCounted);
      this.mergedCounted = merged;
    }
  }
}

export type { Cursor };
