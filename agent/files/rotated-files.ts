/**
 * Finding and opening a json-file log's files: the current one <name> and the rotated ones
 * <name>.1 (newest) … <name>.N (oldest), each perhaps compressed (<name>.K.gz).
 *
 * These functions run in the agent's main thread and in the pin thread (pin-thread.ts), which
 * loads them from their source text: no imports, no module-level values; `fs` is passed in.
 */
import type * as NodeFs from 'node:fs';

type Fs = Pick<typeof NodeFs, 'statSync' | 'openSync' | 'closeSync' | 'fstatSync'>;

/** Device and inode: a BigIntStats, or a position's decimal strings. */
export interface Ident {
  dev: bigint | string;
  ino: bigint | string;
}

export interface Rotated {
  index: number;
  path: string;
  gz: boolean;
  /** identity(): device and inode. */
  id: string;
}

/** A file opened ahead of reading it: an open descriptor keeps it readable after Docker deletes it. */
export interface Pinned extends Rotated {
  fd: number;
}

/** What pinAfter could not tell: which rotated files came after the one opened last. */
export type PinLoss = 'compressed' | 'overrun';

export function identity(s: Ident): string {
  return `${s.dev}:${s.ino}`;
}

export function statOrNone(fs: Fs, path: string): NodeFs.BigIntStats | undefined {
  try {
    return fs.statSync(path, { bigint: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function openOrNone(fs: Fs, path: string): number | undefined {
  try {
    return fs.openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function closeQuietly(fs: Fs, fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}

/** Whether `oldest` was renamed over the file `oldId` (open as `oldFd`, deleted): the same change time, to the nanosecond. */
export function successorKept(fs: Fs, oldId: string, oldFd: number | undefined, oldest: Rotated | undefined): boolean {
  if (oldFd === undefined || oldest === undefined) return false;
  try {
    const old = fs.fstatSync(oldFd, { bigint: true });
    const kept = fs.statSync(oldest.path, { bigint: true });
    return identity(old) === oldId && old.nlink === 0n && identity(kept) === oldest.id && old.ctimeNs === kept.ctimeNs;
  } catch {
    return false;
  }
}

/** The rotated files there now, newest (.1) first, looked at until the first missing number. */
export function listRotated(fs: Fs, path: string): Rotated[] {
  // Docker keeps as many rotated files as max-file says.
  const maxRotated = 1000;
  const out: Rotated[] = [];
  for (let index = 1; index <= maxRotated; index++) {
    let r: Rotated | undefined;
    for (const gz of [false, true]) {
      const p = `${path}.${index}${gz ? '.gz' : ''}`;
      const s = statOrNone(fs, p);
      if (s) {
        r = { index, path: p, gz, id: identity(s) };
        break;
      }
    }
    if (!r) break;
    out.push(r);
  }
  return out;
}

/**
 * The files after `oldId`, opened, oldest first, the current one last; undefined when the
 * current file is not there (between a rotation's rename and create). The listing is taken
 * again after opening: if Docker rotated meanwhile, it starts over (a few times at most).
 * When `oldId` is no longer among the rotated files (compressed into a new file, or rotated
 * away past max-file), all are taken, and `lost` says why, unless it is sure nothing was lost:
 * Docker deletes a file past max-file by renaming its successor over it, so when the oldest
 * file left has the change time the old one (open as `oldFd`) got when it was deleted, that is
 * its successor, and none is missing. (File times advance in clock ticks of a few ms: Docker
 * rotating twice within one tick, at a max-size under ~100 KB written at tens of MB/s, could
 * make a loss look like none.)
 */
export function pinAfter(fs: Fs, path: string, oldId: string, oldFd?: number): { files: Pinned[]; lost?: PinLoss } | undefined {
  for (let attempt = 0; ; attempt++) {
    const cur = openOrNone(fs, path);
    if (cur === undefined) return undefined;
    const curId = identity(fs.fstatSync(cur, { bigint: true }));
    const chainOf = (list: Rotated[]) => {
      const k = list.findIndex((r) => r.id === oldId);
      return { found: k >= 0, files: (k < 0 ? list : list.slice(0, k)).filter((r) => r.id !== curId).reverse() };
    };
    const rotated = listRotated(fs, path);
    const chain = chainOf(rotated);
    const files: Pinned[] = [];
    for (const r of chain.files) {
      const fd = openOrNone(fs, r.path);
      if (fd === undefined) continue;
      files.push({ ...r, fd, id: identity(fs.fstatSync(fd, { bigint: true })) });
    }
    const again = chainOf(listRotated(fs, path));
    const nowCur = statOrNone(fs, path);
    const steady = nowCur !== undefined && identity(nowCur) === curId && again.files.length === files.length && again.files.every((r, i) => files[i]?.id === r.id);
    if (steady || attempt >= 4) {
      files.push({ index: 0, path, gz: false, id: curId, fd: cur });
      if (chain.found) return { files };
      if (rotated.some((r) => r.gz)) return { files, lost: 'compressed' };
      return successorKept(fs, oldId, oldFd, rotated[rotated.length - 1]) ? { files } : { files, lost: 'overrun' };
    }
    closeQuietly(fs, cur);
    for (const p of files) closeQuietly(fs, p.fd);
  }
}
