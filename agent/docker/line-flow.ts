/**
 * What both ways of reading a container's log share once they have its entries (from the
 * Engine API's stream or from its json-file): each stream's entries become lines again
 * (LineAssembler, resuming from the cursor), multi-line records are merged if asked, the
 * lines go to the shipper, and the read counters are added up.
 */
import type { Logger } from '../../lib/logger.js';
import type { AgentMetrics } from '../metrics.js';
import type { Shipper } from '../ship/shipper.js';
import { MultilineMerger, type MultilineLimits, type MultilineSpec } from '../process/multiline.js';
import { LineAssembler, type Line } from './assemble-lines.js';
import type { ContainerMeta } from './containers.js';
import { STDERR, STDOUT, type LogEntry } from './decode-frames.js';
import type { RecordCursor } from '../ship/record.js';

type CounterChild = { inc(n: number): void };

export interface LineFlowOptions {
  maxLineBytes: number;
  multiline?: MultilineSpec;
  multilineLimits: MultilineLimits;
  multilineFlushMs: number;
  /** A piece without newline is part of a line even when short (Podman, see LineAssembler). */
  shortPiecesArePartial?: boolean;
}

export class LineFlow {
  private readonly out: LineAssembler;
  private readonly err: LineAssembler;
  private readonly mlOut: MultilineMerger | undefined;
  private readonly mlErr: MultilineMerger | undefined;
  private mlTimer: NodeJS.Timeout | undefined;
  private counting: NodeJS.Timeout | undefined;
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
    private readonly meta: ContainerMeta,
    resume: RecordCursor | undefined,
    private readonly shipper: Shipper,
    private readonly opts: LineFlowOptions,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
    /** Sees each line just before the shipper does (file mode marks where to resume reading). */
    private readonly beforeShip?: (line: Line) => void,
    /** Says so in the log the first time entries come again (the API stream only; file mode re-reads on purpose). */
    private readonly reportReplays = true,
  ) {
    this.out = new LineAssembler(STDOUT, opts.maxLineBytes, meta.tty, resume?.stdout, opts.shortPiecesArePartial);
    this.err = new LineAssembler(STDERR, opts.maxLineBytes, meta.tty, resume?.stderr, opts.shortPiecesArePartial);
    if (opts.multiline) {
      this.mlOut = new MultilineMerger(opts.multiline, opts.multilineLimits);
      this.mlErr = new MultilineMerger(opts.multiline, opts.multilineLimits);
    }
    this.emitted = { ...resume };
    // Label lookups hash their labels: done once here, not per chunk.
    this.readOut = { lines: metrics.linesRead.labels(meta.name, 'stdout'), bytes: metrics.bytesRead.labels(meta.name, 'stdout') };
    this.readErr = { lines: metrics.linesRead.labels(meta.name, 'stderr'), bytes: metrics.bytesRead.labels(meta.name, 'stderr') };
  }

  /** The cursor after the last line handed to the shipper, per stream. */
  get cursor(): RecordCursor {
    return { ...this.emitted };
  }

  /** The timestamp of the cursor of the last line shipped from a stream. */
  shippedTs(stream: number): string | undefined {
    return (stream === STDERR ? this.emitted.stderr : this.emitted.stdout)?.ts;
  }

  /** Times an assembler saw its stream go back in time (and skipped forward). */
  get replays(): number {
    return this.out.replays + this.err.replays;
  }

  readonly push = (e: LogEntry): void => {
    if (e.stream === STDERR) this.err.push(e, this.onLineErr);
    else this.out.push(e, this.onLineOut);
  };

  /** After each chunk: counters in bulk past 4096 lines, and the multiline timer. */
  chunkDone(): void {
    if (this.linesOut + this.linesErr >= 4096) this.countRead();
    this.armMultilineTimer();
  }

  /** End of the log: unfinished lines and held multi-line records go out. */
  flushAll(): void {
    this.out.flush(this.onLineOut);
    this.err.flush(this.onLineErr);
    this.mlOut?.flush(this.emit);
    this.mlErr?.flush(this.emit);
  }

  /** Reading starts: read counters go to prom-client in bulk, every 4096 lines (chunkDone), every second and at stop. */
  start(): void {
    this.counting ??= setInterval(() => this.countRead(), 1000).unref();
  }

  /** Reading stopped: no more timers; counters up to date. */
  stop(): void {
    if (this.mlTimer) clearTimeout(this.mlTimer);
    this.mlTimer = undefined;
    if (this.counting) clearInterval(this.counting);
    this.counting = undefined;
    this.countRead();
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
    this.beforeShip?.(line);
    this.shipper.push(this.meta.id, line);
  };

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
  countRead(): void {
    const m = this.metrics;
    if (this.linesOut) this.readOut.lines.inc(this.linesOut);
    if (this.bytesOut) this.readOut.bytes.inc(this.bytesOut);
    if (this.linesErr) this.readErr.lines.inc(this.linesErr);
    if (this.bytesErr) this.readErr.bytes.inc(this.bytesErr);
    this.linesOut = this.linesErr = this.bytesOut = this.bytesErr = 0;
    const replayed = this.out.replaySkipped + this.err.replaySkipped;
    if (replayed > this.replayedCounted) {
      m.entriesReplayed.inc({ container: this.meta.name }, replayed - this.replayedCounted);
      if (this.replayedCounted === 0 && this.reportReplays) this.log.info({ container: this.meta.name }, 'Docker sent log entries again (rotation); skipping them');
      this.replayedCounted = replayed;
    }
    const merged = (this.mlOut?.merged ?? 0) + (this.mlErr?.merged ?? 0);
    if (merged > this.mergedCounted) {
      m.multilineMerged.inc(merged - this.mergedCounted);
      this.mergedCounted = merged;
    }
  }
}
