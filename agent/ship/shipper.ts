/**
 * Buffers encoded lines per container, sends them in batches (one batch in flight), and
 * moves checkpoints only after the transport acknowledged. When the transport is down it
 * retries the same batch without limit; followers are paused once the buffer is full, so
 * memory stays bounded and Docker's log file is the buffer.
 * Lines are kept as bytes, not objects: each container's lines are encoded into blocks (runs of
 * JSON line objects, up to BLOCK_BYTES) that carry the counts and cursors acknowledging them
 * needs, so a buffered line costs the garbage collector nothing (a line object per buffered
 * line was most of a file-mode flood's collection time). A record is made of whole blocks.
 * One file (~400 lines) on purpose: buffering, batching, acknowledging and moving checkpoints
 * read and write the same few counters (buffered bytes and lines, the batch in flight, each
 * container's pending parts); split apart they would share that mutable state across files.
 */
import type { Logger } from '../../lib/logger.js';
import { describe } from '../../lib/errors.js';
import type { Cursor, Line } from '../docker/assemble-lines.js';
import { STDERR } from '../docker/decode-frames.js';
import type { AgentMetrics } from '../metrics.js';
import type { FilePosition } from '../files/tail-file.js';
import type { CheckpointStore } from './checkpoint-store.js';
import { encodeLineInto, encodeRecord, isUtf8, lineBound, type RecordCursor } from './record.js';
import { TooLargeError, type OutRecord, type SendResult, type Transport } from './transport.js';
import { Backoff, sleep } from '../../lib/retry.js';

export interface ShipperConfig {
  /** A batch is sent when this many bytes are buffered ... */
  batchBytes: number;
  /** ... or when the oldest buffered line waited this long. */
  lingerMs: number;
  /** Largest record (Kafka message) built from one container's lines; one longer line still gets its own record. */
  recordBytes: number;
  /** Buffered bytes (including the batch in flight) above which followers are paused. */
  maxBufferBytes: number;
  /**
   * Called after each acknowledgement, before its checkpoint is written (the window start-up
   * recovery must close): the test-only SIGKILL hook (lib/faults.ts), wired only when set.
   */
  afterAck?: () => void;
}

/** Blocks of encoded lines grow up to this (or the record size, if smaller); a longer line gets a block of its own. */
const BLOCK_BYTES = 64 * 1024;
/** A new block's first size (doubled as it fills). */
const FIRST_BLOCK_BYTES = 2048;

/** A run of one container's encoded lines, comma-separated, with what acknowledging them needs. */
interface Block {
  buf: Buffer;
  len: number;
  lines: number;
  outLines: number;
  errLines: number;
  outBytes: number;
  errBytes: number;
  /** Each stream's cursor after its last line in the block (none: no line of that stream). */
  out: Cursor | undefined;
  err: Cursor | undefined;
  /** File mode: where reading may resume once its last line is shipped. */
  pos: FilePosition | undefined;
  /** When its first line was buffered (ms): the linger of what is left after a send counts from here. */
  at: number;
  /** Its first line's cursor time (checkpoint lag). */
  firstTs: string;
  /** Taken into a batch: later lines go into a new block. */
  sealed: boolean;
}

interface ContainerBuffer {
  id: string;
  name: string;
  header: Buffer;
  blocks: Block[];
}

export class Shipper {
  private readonly buffers = new Map<string, ContainerBuffer>();
  private bufferedBytes = 0;
  private bufferedLines = 0;
  private oldestAt = 0;
  private wake: (() => void) | undefined;
  private drainWaiters: (() => void)[] = [];
  private stopping = false;
  private loop: Promise<void> | undefined;
  /** Resolves when every buffered line is acknowledged (for stop and tests). */
  private idleWaiters: (() => void)[] = [];
  private inFlight = false;
  private inFlightSince = 0;
  healthy = true;
  lastError: string | undefined;

  constructor(
    private readonly cfg: ShipperConfig,
    private readonly transport: Transport,
    private readonly checkpoints: CheckpointStore,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
  ) {}

  /** Sets (or replaces, after a rename) the record header of a container. */
  setContainer(id: string, name: string, header: string): void {
    const b = this.buffers.get(id);
    if (b) {
      b.name = name;
      b.header = Buffer.from(header);
    } else this.buffers.set(id, { id, name, header: Buffer.from(header), blocks: [] });
  }

  private readonly onCheckpointError = (err: Error): void => {
    // The cursors stay in memory and go out with the next write; a restart before that
    // reads from Kafka what was acknowledged after the last good write.
    this.metrics.checkpointErrors.inc();
    this.log.error({ err: describe(err) }, 'checkpoint write failed');
  };

  private readonly onCheckpointWritten = (): void => this.metrics.checkpointWrites.inc();

  /** Writes the checkpoint file in the background (for changes made outside an acknowledgement). */
  persistCheckpoints(): void {
    this.checkpoints.persistSoon(this.onCheckpointError, this.onCheckpointWritten);
  }

  /** Per container: age (by Docker time) of its oldest line not yet acknowledged; read at scrape time. */
  checkpointLag(now = Date.now()): Map<string, number> {
    const out = new Map<string, number>();
    for (const b of this.buffers.values()) {
      const oldest = b.blocks[0];
      out.set(b.name, oldest ? Math.max(0, (now - Date.parse(oldest.firstTs)) / 1000) : 0);
    }
    return out;
  }

  /** The name a container's lines are counted under. */
  nameOf(id: string): string | undefined {
    return this.buffers.get(id)?.name;
  }

  /** Drops a removed container's buffer state once nothing of it is pending. */
  removeContainer(id: string): void {
    const b = this.buffers.get(id);
    if (b && b.blocks.length === 0) {
      this.buffers.delete(id);
    }
  }

  /** Buffers one line. Returns false when the buffer is full: the caller should pause reading. */
  push(id: string, line: Line): boolean {
    const b = this.buffers.get(id);
    if (!b) throw new Error(`shipper: container ${id} not registered`);
    const utf8 = isUtf8(line.msg);
    if (!utf8) this.metrics.invalidUtf8Lines.inc();
    const blk = this.blockFor(b, lineBound(line, utf8) + 1);
    if (blk.lines > 0) blk.buf[blk.len++] = 0x2c;
    const start = blk.len;
    blk.len = encodeLineInto(blk.buf, start, line, utf8);
    const bytes = blk.len - start + 1;
    if (blk.lines++ === 0) blk.firstTs = line.cursor.ts;
    if (line.stream === STDERR) {
      blk.errLines++;
      blk.errBytes += bytes;
      blk.err = line.cursor;
    } else {
      blk.outLines++;
      blk.outBytes += bytes;
      blk.out = line.cursor;
    }
    blk.pos = line.pos;
    if (this.bufferedLines === 0) this.oldestAt = blk.at;
    this.bufferedBytes += bytes;
    this.bufferedLines++;
    if (this.bufferedBytes >= this.cfg.batchBytes || this.bufferedLines === 1) this.kick();
    return this.bufferedBytes < this.cfg.maxBufferBytes;
  }

  /** The block a line of up to `need` bytes goes into: the container's open one, grown if it may, else a new one. */
  private blockFor(b: ContainerBuffer, need: number): Block {
    const last = b.blocks[b.blocks.length - 1];
    // A record is its header and whole blocks: a block of more than one line leaves room for the header.
    const cap = Math.min(BLOCK_BYTES, this.cfg.recordBytes - b.header.length);
    if (last && !last.sealed) {
      if (last.len + need <= Math.min(last.buf.length, cap)) return last;
      if (last.len + need <= cap) {
        const grown = Buffer.allocUnsafe(Math.min(cap, Math.max(last.buf.length * 2, last.len + need)));
        last.buf.copy(grown, 0, 0, last.len);
        last.buf = grown;
        return last;
      }
      last.sealed = true;
    }
    const blk: Block = {
      buf: Buffer.allocUnsafe(Math.max(Math.min(FIRST_BLOCK_BYTES, cap), need)),
      len: 0, lines: 0, outLines: 0, errLines: 0, outBytes: 0, errBytes: 0,
      out: undefined, err: undefined, pos: undefined, at: Date.now(), firstTs: '', sealed: false,
    };
    b.blocks.push(blk);
    return blk;
  }

  /** True while a send has been waiting longer than `ms` (the transport is down or stalled). */
  stalled(ms: number): boolean {
    return this.inFlight && Date.now() - this.inFlightSince > ms;
  }

  get full(): boolean {
    return this.bufferedBytes >= this.cfg.maxBufferBytes;
  }

  /** Resolves once the buffer has drained below half of its limit. */
  waitForRoom(): Promise<void> {
    if (this.bufferedBytes < this.cfg.maxBufferBytes / 2) return Promise.resolve();
    this.metrics.backpressurePauses.inc();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Resolves once everything buffered so far has been acknowledged. */
  flushed(): Promise<void> {
    if (this.bufferedLines === 0 && !this.inFlight) return Promise.resolve();
    this.kick();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get stats(): { bufferedBytes: number; bufferedLines: number } {
    return { bufferedBytes: this.bufferedBytes, bufferedLines: this.bufferedLines };
  }

  start(): void {
    this.loop = this.run();
  }

  /** Stops after sending what is buffered (up to timeoutMs), and writes the last checkpoint. */
  async stop(timeoutMs: number): Promise<void> {
    const done = this.flushed();
    await Promise.race([done, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    this.stopping = true;
    this.kick();
    await this.loop;
    await this.checkpoints.settled();
    try {
      this.checkpoints.persist();
    } catch (err) {
      this.metrics.checkpointErrors.inc();
      this.log.error({ err: describe(err) }, 'final checkpoint write failed');
    }
  }

  private kick(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(200, 10_000);
    while (!this.stopping) {
      if (this.bufferedLines === 0) {
        this.notifyIdle();
        await this.sleep(60_000);
        continue;
      }
      const waited = Date.now() - this.oldestAt;
      if (this.bufferedBytes < this.cfg.batchBytes && waited < this.cfg.lingerMs) {
        await this.sleep(this.cfg.lingerMs - waited);
        continue;
      }
      const batch = this.take();
      this.inFlight = true;
      this.inFlightSince = Date.now();
      while (!this.stopping) {
        const end = this.metrics.produceSeconds.startTimer();
        try {
          const res = await this.sendSplitting(batch.records);
          end();
          this.acknowledge(batch, res.nextOffsets);
          backoff.reset();
          if (!this.healthy) this.log.info('transport is accepting records again');
          this.healthy = true;
          this.lastError = undefined;
          break;
        } catch (err) {
          this.metrics.produceErrors.inc();
          this.healthy = false;
          this.lastError = describe(err);
          const wait = backoff.next();
          this.log.warn({ err: this.lastError, retryInMs: wait, bufferedBytes: this.bufferedBytes }, 'send failed; retrying the same batch (nothing is dropped)');
          await sleep(wait);
        }
      }
      this.inFlight = false;
    }
    this.notifyIdle();
  }

  /**
   * Sends records; when the other end refuses them as too large, sends halves one after the
   * other (each half acknowledged is also recoverable from Kafka after a crash, since every
   * record carries its cursor). A single record still too large is dropped: counted, logged.
   */
  private async sendSplitting(records: OutRecord[]): Promise<SendResult> {
    try {
      return await this.transport.send(records);
    } catch (err) {
      if (!(err instanceof TooLargeError)) throw err;
      if (records.length === 1) {
        const r = records[0] as OutRecord;
        this.metrics.linesDropped.inc({ reason: 'record_too_large' }, r.lines);
        this.log.error({ container: r.key.slice(0, 12), lines: r.lines, bytes: r.value.length, err: err.message }, 'record refused as too large even alone; its lines are dropped');
        return { nextOffsets: new Map() };
      }
      this.metrics.batchesSplit.inc();
      const mid = Math.ceil(records.length / 2);
      const a = await this.sendSplitting(records.slice(0, mid));
      const b = await this.sendSplitting(records.slice(mid));
      for (const [p, off] of b.nextOffsets) {
        const prev = a.nextOffsets.get(p);
        if (prev === undefined || BigInt(off) > BigInt(prev)) a.nextOffsets.set(p, off);
      }
      return a;
    }
  }

  private notifyIdle(): void {
    if (this.bufferedLines !== 0 || this.inFlight) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** Takes lines from every container (oldest containers' lines first, whole records of whole blocks) up to the batch size. */
  private take(): Batch {
    const records: OutRecord[] = [];
    const parts: BatchPart[] = [];
    let budget = Math.max(this.cfg.batchBytes, 1);
    for (const b of this.buffers.values()) {
      if (b.blocks.length === 0) continue;
      if (budget <= 0) break;
      let i = 0;
      const cursor: RecordCursor = {};
      while (i < b.blocks.length && budget > 0) {
        let size = b.header.length;
        let lines = 0;
        const runs: Buffer[] = [];
        do {
          const blk = b.blocks[i] as Block;
          blk.sealed = true;
          size += blk.len + 1;
          lines += blk.lines;
          runs.push(blk.buf.subarray(0, blk.len));
          if (blk.out) cursor.stdout = blk.out;
          if (blk.err) cursor.stderr = blk.err;
          i++;
        } while (i < b.blocks.length && size + (b.blocks[i] as Block).len < this.cfg.recordBytes);
        // Each record carries the container's cursor after it: what start-up recovery reads back.
        records.push({ key: b.id, value: encodeRecord(b.header, runs, { ...cursor }), lines });
        budget -= size;
      }
      parts.push({ buffer: b, count: i, cursor, pos: (b.blocks[i - 1] as Block).pos ?? null });
    }
    return { records, parts };
  }

  private acknowledge(batch: Batch, nextOffsets: Map<number, string>): void {
    let bytes = 0;
    let lines = 0;
    for (const part of batch.parts) {
      const b = part.buffer;
      let outLines = 0;
      let errLines = 0;
      let outBytes = 0;
      let errBytes = 0;
      for (const blk of b.blocks.splice(0, part.count)) {
        outLines += blk.outLines;
        errLines += blk.errLines;
        outBytes += blk.outBytes;
        errBytes += blk.errBytes;
      }
      bytes += outBytes + errBytes;
      lines += outLines + errLines;
      if (outLines) {
        this.metrics.linesShipped.inc({ container: b.name, stream: 'stdout' }, outLines);
        this.metrics.bytesShipped.inc({ container: b.name, stream: 'stdout' }, outBytes);
      }
      if (errLines) {
        this.metrics.linesShipped.inc({ container: b.name, stream: 'stderr' }, errLines);
        this.metrics.bytesShipped.inc({ container: b.name, stream: 'stderr' }, errBytes);
      }
      this.checkpoints.advance(b.id, part.cursor, part.pos);
    }
    for (const [p, off] of nextOffsets) this.checkpoints.setPartitionOffset(p, off);
    this.cfg.afterAck?.();
    // Written in the background: see CheckpointStore.persistSoon.
    this.checkpoints.persistSoon(this.onCheckpointError, this.onCheckpointWritten);
    this.metrics.recordsShipped.inc(batch.records.length);
    this.bufferedBytes -= bytes;
    this.bufferedLines -= lines;
    // What is left lingers from its own oldest line: lines that came in during the send wait
    // out the rest of their linger (at a low rate: one send per linger, not one per round
    // trip); lines a full batch left behind wait out theirs too, or go with the next full batch.
    if (this.bufferedLines > 0) {
      let oldest = Infinity;
      for (const b of this.buffers.values()) if (b.blocks.length) oldest = Math.min(oldest, (b.blocks[0] as Block).at);
      this.oldestAt = oldest;
    }
    if (this.bufferedBytes < this.cfg.maxBufferBytes / 2 && this.drainWaiters.length) {
      const w = this.drainWaiters;
      this.drainWaiters = [];
      for (const f of w) f();
    }
    this.notifyIdle();
  }
}

interface BatchPart {
  buffer: ContainerBuffer;
  count: number;
  cursor: RecordCursor;
  /** The file position of its last line; null for lines read through the API. */
  pos: FilePosition | null;
}

interface Batch {
  records: OutRecord[];
  parts: BatchPart[];
}


