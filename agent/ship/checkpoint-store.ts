/**
 * Per-container cursors, persisted atomically (write temp, fsync, rename, fsync dir) under
 * SHIPLOG_DATA_DIR. A cursor moves only after Kafka (or, in `up` mode, the store) acknowledged
 * the lines before it. Alongside, for each partition, the offset after our last acknowledged
 * record: on restart, records past it may be acknowledged but not yet checkpointed, and are
 * read back to move cursors forward (see recover-cursors.ts).
 */
import { mkdirSync, openSync, fsyncSync, closeSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CheckpointError } from '../../lib/errors.js';
import type { Cursor } from '../docker/assemble-lines.js';
import type { FilePosition } from '../files/tail-file.js';
import type { RecordCursor } from './record.js';

export interface ContainerCheckpoint extends RecordCursor {
  /**
   * File mode: a place in the container's json-file log at or before the first entry the
   * cursors have not passed (for each stream, the first entry with its cursor's timestamp), so
   * reading from there and skipping by the cursors is exact. A hint: the cursors decide.
   */
  file?: FilePosition;
  /** When this container's cursor last moved (ISO time); used to forget removed containers. */
  updated: string;
  /** Docker's FinishedAt of the stop after which this container was read to its end. */
  drainedAt?: string;
}

export interface CheckpointFile {
  version: 1;
  /** When this agent first ran with this data dir: containers created later are read from their start. */
  firstStart: string;
  /** Which transport the partition offsets belong to (topic name), so a changed setup does not misuse them. */
  target: string;
  partitions: Record<string, string>;
  containers: Record<string, ContainerCheckpoint>;
}

export class CheckpointStore {
  private data: CheckpointFile;
  readonly path: string;
  writes = 0;

  constructor(dataDir: string, target: string) {
    this.path = join(dataDir, 'agent', 'checkpoints.json');
    this.data = this.load(target);
  }

  get firstStart(): string {
    return this.data.firstStart;
  }

  get(id: string): ContainerCheckpoint | undefined {
    return this.data.containers[id];
  }

  containers(): string[] {
    return Object.keys(this.data.containers);
  }

  partitions(): Record<string, string> {
    return { ...this.data.partitions };
  }

  /**
   * Moves a container's cursors forward; a cursor never moves back. `file`: the file position
   * that goes with these cursors (file mode), null when they came from the API (a position
   * from an earlier file-mode run would only make a later one read more), undefined to keep it.
   */
  advance(id: string, cursor: RecordCursor, file?: FilePosition | null): void {
    const cur = this.data.containers[id] ?? { updated: '' };
    let moved = false;
    if (cursor.stdout && after(cursor.stdout, cur.stdout)) {
      cur.stdout = cursor.stdout;
      moved = true;
    }
    if (cursor.stderr && after(cursor.stderr, cur.stderr)) {
      cur.stderr = cursor.stderr;
      moved = true;
    }
    if (moved && file) cur.file = { dev: file.dev, ino: file.ino, offset: file.offset };
    else if (moved && file === null) delete cur.file;
    cur.updated = new Date().toISOString();
    this.data.containers[id] = cur;
  }

  markDrained(id: string, finishedAt: string): void {
    const cur = this.data.containers[id] ?? { updated: new Date().toISOString() };
    cur.drainedAt = finishedAt;
    this.data.containers[id] = cur;
  }

  setPartitionOffset(partition: number, offset: string): void {
    const prev = this.data.partitions[String(partition)];
    if (prev === undefined || BigInt(offset) > BigInt(prev)) this.data.partitions[String(partition)] = offset;
  }

  forget(id: string): void {
    delete this.data.containers[id];
  }

  /** Writes the file atomically; throws CheckpointError when the disk refuses. */
  persist(): void {
    const tmp = `${this.path}.tmp`;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeFileSync(fd, JSON.stringify(this.data));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.path);
      const dfd = openSync(dirname(this.path), 'r');
      try {
        fsyncSync(dfd);
      } finally {
        closeSync(dfd);
      }
      this.writes++;
    } catch (err) {
      throw new CheckpointError(`cannot write ${this.path}`, err);
    }
  }

  private writing: Promise<void> | undefined;
  private dirty = false;
  private lastWriteAt = 0;
  /** Ends the wait before a coalesced write (stop wants it now). */
  private hurry: (() => void) | undefined;
  /** Set while settled() waits: no more waiting between writes. */
  private urgent = false;
  /** At most one background write per this many ms, for all containers together. */
  minIntervalMs = 1000;

  /**
   * Writes the file in the background, off the event loop, at most once per minIntervalMs:
   * every ack in between is folded into the next write (one fsync a second instead of one per
   * batch). Safe because a cursor persisted late only means that start-up reads a few more
   * acknowledged records back from Kafka (or the store, in shiplog up).
   */
  persistSoon(onError: (err: CheckpointError) => void, onWritten?: () => void): void {
    this.dirty = true;
    if (this.writing) return;
    this.writing = (async () => {
      while (this.dirty) {
        const wait = this.lastWriteAt + this.minIntervalMs - Date.now();
        if (wait > 0 && !this.urgent) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, wait);
            this.hurry = () => {
              clearTimeout(t);
              resolve();
            };
          });
          this.hurry = undefined;
        }
        this.dirty = false;
        this.lastWriteAt = Date.now();
        try {
          await this.writeAsync(JSON.stringify(this.data));
          this.writes++;
          onWritten?.();
        } catch (err) {
          onError(err instanceof CheckpointError ? err : new CheckpointError(`cannot write ${this.path}`, err));
        }
      }
      this.writing = undefined;
    })();
  }

  /** Resolves once no background write is under way (a write waiting for its turn goes now). */
  async settled(): Promise<void> {
    this.urgent = true;
    try {
      while (this.writing) {
        this.hurry?.();
        await this.writing;
      }
    } finally {
      this.urgent = false;
    }
  }

  private async writeAsync(text: string): Promise<void> {
    const tmp = `${this.path}.tmp`;
    mkdirSync(dirname(this.path), { recursive: true });
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
    const dh = await open(dirname(this.path), 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }

  private load(target: string): CheckpointFile {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return fresh(target);
      throw new CheckpointError(`cannot read ${this.path}`, err);
    }
    let parsed: CheckpointFile;
    try {
      parsed = JSON.parse(text) as CheckpointFile;
    } catch (err) {
      throw new CheckpointError(`${this.path} is not valid JSON (move it away to start over)`, err);
    }
    if (parsed.version !== 1 || typeof parsed.containers !== 'object') {
      throw new CheckpointError(`${this.path} has an unknown layout (version ${String(parsed.version)})`);
    }
    if (parsed.target !== target) {
      // Shipping somewhere else now: cursors still hold, partition offsets do not.
      parsed.target = target;
      parsed.partitions = {};
    }
    return parsed;
  }
}

function fresh(target: string): CheckpointFile {
  return { version: 1, firstStart: new Date().toISOString(), target, partitions: {}, containers: {} };
}

/** True when cursor a is strictly after b. */
export function after(a: Cursor, b: Cursor | undefined): boolean {
  if (!b) return true;
  if (a.ts !== b.ts) return a.ts > b.ts;
  if (a.n !== b.n) return a.n > b.n;
  // The same entry: partly shipped (b bytes) is before wholly shipped.
  return (a.b ?? Infinity) > (b.b ?? Infinity);
}
