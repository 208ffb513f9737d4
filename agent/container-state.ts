/**
 * What the agent knows of each container it has seen, one object per container, so that the
 * follow loop, discovery and the metrics read one truth. A container is, at any time:
 *   following — a follow loop runs for it (reserved before the loop's first await, so an
 *               event and a resync never start two);
 *   excluded  — filtered out, or its log driver cannot be read back;
 *   drained   — stopped and read to its end in this process;
 *   destroyed — removed from Docker: forgotten once its lines are acknowledged.
 */
import type { ContainerMeta } from './docker/containers.js';
import type { FilePosition } from './files/tail-file.js';
import type { RecordCursor } from './ship/record.js';

/** What the follow loop needs of a log reader, whether it reads through the API or from the files. */
export interface LogReader {
  abort(): void;
  closeStale(): void;
}

export class ContainerState {
  /** Its follow loop, while one runs. */
  loop: Promise<void> | undefined;
  /** The log reader of that loop at the moment (none between two reads). */
  follower: LogReader | undefined;
  /** Where the last reader in this process got to (may be ahead of the checkpoint). */
  cursor: RecordCursor | undefined;
  /** File mode: the file position that goes with that cursor. */
  filePos: FilePosition | undefined;
  /** What inspect said while it is followed: for stats sampling, events and renames. */
  meta: ContainerMeta | undefined;
  excluded = false;
  drained = false;
  destroyed = false;

  constructor(readonly id: string) {}

  get following(): boolean {
    return this.loop !== undefined;
  }
}

export class ContainerTable {
  private readonly byId = new Map<string, ContainerState>();

  get(id: string): ContainerState | undefined {
    return this.byId.get(id);
  }

  /** The container's state, made on first sight. */
  of(id: string): ContainerState {
    let c = this.byId.get(id);
    if (!c) {
      c = new ContainerState(id);
      this.byId.set(id, c);
    }
    return c;
  }

  delete(id: string): void {
    this.byId.delete(id);
  }

  count(pred: (c: ContainerState) => boolean): number {
    let n = 0;
    for (const c of this.byId.values()) if (pred(c)) n++;
    return n;
  }

  /** Metadata of the containers followed and running (what stats sampling reads). */
  running(): ContainerMeta[] {
    const out: ContainerMeta[] = [];
    for (const c of this.byId.values()) if (c.meta?.running) out.push(c.meta);
    return out;
  }

  /** Whether a container of this name is known (compose recreates under the old name). */
  hasName(name: string): boolean {
    for (const c of this.byId.values()) if (c.meta?.name === name) return true;
    return false;
  }

  loops(): Promise<void>[] {
    const out: Promise<void>[] = [];
    for (const c of this.byId.values()) if (c.loop) out.push(c.loop);
    return out;
  }

  followers(): LogReader[] {
    const out: LogReader[] = [];
    for (const c of this.byId.values()) if (c.follower) out.push(c.follower);
    return out;
  }
}
