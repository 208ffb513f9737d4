/**
 * File mode: one container's log read from its json-file files (FileTail), not through the
 * Engine API. Entries go through the same LineFlow as the API's (line assembly, 16 KiB
 * partials, multiline, cursors), so records and cursors are the same whichever way a container
 * was read, and a checkpoint written in one mode resumes exactly in the other.
 *
 * Where to resume: the cursors (timestamp, count per stream) decide what was shipped; the file
 * position only says where reading may start. Each shipped line carries the position of the
 * first entry, in either stream, that a resume may still need: for a stream with a cursor, its
 * first entry with the cursor's timestamp (the cursor counts entries of that timestamp from
 * there); for a stream without, its oldest entry read and not yet shipped. Reading from there
 * and skipping by the cursors gives every line once.
 */
import type { Logger } from '../../lib/logger.js';
import { describe } from '../../lib/errors.js';
import type { Line } from '../docker/assemble-lines.js';
import type { ContainerMeta } from '../docker/containers.js';
import { STDERR, STDOUT, type LogEntry } from '../docker/decode-frames.js';
import type { FollowEnd, FollowOptions } from '../docker/follow-logs.js';
import { LineFlow } from '../docker/line-flow.js';
import type { AgentMetrics } from '../metrics.js';
import type { RecordCursor } from '../ship/record.js';
import type { Shipper } from '../ship/shipper.js';
import { JsonFileDecoder } from './json-file.js';
import { FileTail, type ChunkAt, type FilePosition, type TailEvent } from './tail-file.js';

/** A position in the order the files were read: seq says which file, so positions in different files compare. */
interface Mark extends FilePosition {
  seq: number;
}

/** A run of entries with one timestamp in one stream, from where its first entry starts (itself a position: no copy per line). */
interface Run extends Mark {
  ts: string;
}

/** Runs kept per stream past this are merged at the front (earlier position kept: reads more, never less). */
const MAX_RUNS = 4096;

export interface FileFollowOptions extends FollowOptions {
  /** The log file as the agent sees it. */
  path: string;
  /** Where a checkpoint says reading may start (ContainerCheckpoint.file). */
  from: FilePosition | undefined;
  /** `from` is where an earlier reader of this process got to (not a checkpoint read at start-up). */
  fromThisRun?: boolean;
  pollMs: number;
}

export class FileFollower {
  private readonly lines: LineFlow;
  private readonly ac = new AbortController();
  private tail: FileTail | undefined;
  /** Per stream (stdout, stderr): timestamps runs read and not yet passed by a shipped line. */
  private readonly runs: [Run[], Run[]] = [[], []];
  private decoder: JsonFileDecoder | undefined;
  private decoderSeq = -1;
  private chunk: ChunkAt | undefined;
  private last: Mark | undefined;
  private readonly sinceTs: string | undefined;
  private bad = 0;
  /** Timestamp of the last entry read, in file order. */
  private lastTs: string | undefined;
  /** Set by a rotations-overrun, told with the next entry's timestamp: lines after `after` may be lost. */
  private gap: { after: string | undefined; detail: string } | undefined;

  constructor(
    readonly meta: ContainerMeta,
    resume: RecordCursor | undefined,
    private readonly shipper: Shipper,
    private readonly opts: FileFollowOptions,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
  ) {
    this.lines = new LineFlow(meta, resume, shipper, opts, metrics, log, this.mark, false);
    // No cursor: Docker's `since` (whole seconds) as a timestamp to compare with (same fixed form).
    if (!resume?.stdout && !resume?.stderr && opts.since !== '0') {
      this.sinceTs = `${new Date(Number(opts.since) * 1000).toISOString().slice(0, 19)}.000000000Z`;
    }
  }

  get cursor(): RecordCursor {
    return this.lines.cursor;
  }

  /** Where reading may resume after the last line handed to the shipper. */
  get position(): FilePosition | undefined {
    return this.last;
  }

  async run(): Promise<FollowEnd> {
    const tail = (this.tail = new FileTail(this.opts.path, this.opts.from, this.onChunk, {
      pollMs: this.opts.pollMs,
      signal: this.ac.signal,
      follow: this.opts.follow,
      onEvent: this.onTailEvent,
    }));
    this.lines.start();
    try {
      const end = await tail.run();
      if (this.gap) this.tellGap(undefined);
      if (end === 'aborted') return 'aborted';
      // Read to the end (not following, or the file was removed with its container).
      this.lines.flushAll();
      return 'ended';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        // No log file (never started, or removed before we got to it): nothing to read.
        return 'ended';
      }
      this.metrics.dockerErrors.inc({ op: 'logs' });
      this.log.warn({ container: this.meta.name, path: this.opts.path, err: describe(err) }, 'cannot read the log file');
      return 'error';
    } finally {
      this.lines.stop();
    }
  }

  abort(): void {
    this.ac.abort();
  }

  /**
   * The container stopped: read what is written (files opened ahead included: Docker may have
   * deleted them already) and end; the caller then reads once more from the cursor, not following.
   */
  closeStale(): void {
    if (!this.opts.follow || this.ac.signal.aborted) return;
    this.tail?.finish();
  }

  private readonly onTailEvent = (what: TailEvent, detail: string): void => {
    this.metrics.logFileEvents.inc({ event: what });
    if (what === 'rotated') return;
    if (what === 'rotations-overrun') {
      // Logged with the first entry after the gap, so that the log says which lines it lies between.
      this.gap = { after: this.lastTs, detail };
      return;
    }
    // A position of this run whose file is gone was read to its end before Docker removed it: normal.
    const lost = what === 'position-lost' && !this.opts.fromThisRun;
    const level = lost || what === 'truncated' ? 'warn' : 'info';
    this.log[level]({ container: this.meta.name, event: what, detail }, 'log file');
  };

  private readonly onChunk = async (bytes: Buffer, at: ChunkAt): Promise<void> => {
    if (at.seq !== this.decoderSeq) {
      if (this.decoder?.pending) this.onBad('', `a file ended inside an entry (${this.decoder.pending} bytes)`);
      this.decoder = new JsonFileDecoder(at.start);
      this.decoderSeq = at.seq;
    }
    this.chunk = at;
    (this.decoder as JsonFileDecoder).push(bytes, this.onEntry, this.onBad);
    this.lines.chunkDone();
    if (this.shipper.full) await this.shipper.waitForRoom();
  };

  private readonly onEntry = (e: LogEntry): void => {
    if (this.gap) this.tellGap(e.ts);
    this.lastTs = e.ts;
    if (this.sinceTs !== undefined && e.ts < this.sinceTs) return;
    const runs = this.runs[e.stream === STDERR ? 1 : 0];
    const lastRun = runs[runs.length - 1];
    if (lastRun?.ts !== e.ts) {
      const c = this.chunk as ChunkAt;
      runs.push({ ts: e.ts, dev: c.dev, ino: c.ino, seq: c.seq, offset: (this.decoder as JsonFileDecoder).entryStart });
      if (runs.length > MAX_RUNS) {
        // Keep the earlier position under the later timestamp: a resume reads more, never less.
        const [first, second] = runs as [Run, Run];
        runs[1] = { ...first, ts: second.ts };
        runs.shift();
      }
    }
    this.lines.push(e);
  };

  /**
   * Just before a line is shipped: the position a resume after it may start from. Each stream's
   * runs before its cursor's timestamp are shipped (this line's stream: up to this line, whose
   * cursor is already the stream's; the other: read again and skipped, say) and go; the earlier
   * of the two first runs left is the position.
   */
  private readonly mark = (line: Line): void => {
    for (const [i, stream] of [STDOUT, STDERR].entries()) {
      const runs = this.runs[i] as Run[];
      const ts = this.lines.shippedTs(stream);
      if (ts !== undefined) while (runs.length > 1 && (runs[0] as Run).ts < ts) runs.shift();
    }
    const [out, err] = [this.runs[0][0], this.runs[1][0]];
    const pos = out && err ? (before(err, out) ? err : out) : (out ?? err);
    if (pos) {
      this.last = pos;
      line.pos = pos;
    }
  };

  /**
   * Docker deleted rotated files before they could be opened (written faster than the agent was
   * given CPU to open them, at a small max-size x max-file): the lines written between the last
   * entry read before and the first after may be lost, and this says so, with both timestamps.
   */
  private tellGap(before: string | undefined): void {
    this.log.warn(
      { container: this.meta.name, event: 'rotations-overrun', after: this.gap?.after, before, detail: this.gap?.detail },
      'log lines may be lost: Docker deleted rotated log files before the agent could open them (raise max-size or max-file, or give the agent more CPU)',
    );
    this.gap = undefined;
  }

  private readonly onBad = (text: string, why: string): void => {
    this.bad++;
    this.metrics.dockerErrors.inc({ op: 'decode' });
    if (this.bad <= 10 || this.bad % 1000 === 0) this.log.warn({ container: this.meta.name, line: text, why, count: this.bad }, 'log file line skipped');
  };
}

function before(a: Mark, b: Mark): boolean {
  return a.seq < b.seq || (a.seq === b.seq && a.offset < b.offset);
}
