/**
 * The pin thread: opens the files Docker rotates in as soon as they appear, on a thread of its
 * own, so that a busy main thread cannot lose them.
 *
 * Docker deletes a rotated file once max-file newer ones exist. At `max-size=1m max-file=3` and
 * a container writing as fast as it can, that is three rotations, a few hundred milliseconds;
 * a reader must have opened each file by then (an open descriptor keeps a deleted file
 * readable). Done on the main thread, between chunks and on folder-watch events, that failed
 * on a loaded 2-core machine: the main thread was busy for up to 200 ms at a time (reading,
 * encoding, producing) and Docker rotated past it, 11 times in one 2 M-line run with two
 * CPU-bound processes beside it. This thread does nothing else: it watches each followed
 * log's folder, and on a rename opens the new files and posts their descriptors (which belong
 * to the process, not to a thread) to the main thread, which reads them in turn.
 *
 * It also tells the main thread which logs changed (batched, a message per WAKE_MS at most,
 * whatever the number of containers): the main thread needs no watch of its own.
 *
 * One file (~330 lines) on purpose: the thread's body and the main thread's side of it share
 * one message protocol (follow, unfollow, check, release; pinned files or changes back) that is
 * easiest to keep right when both ends are read together.
 */
import { Worker } from 'node:worker_threads';
import * as fs from 'node:fs';
import * as rotatedFiles from './rotated-files.js';
import { closeQuietly, identity, pinAfter, statOrNone, type PinLoss, type Pinned } from './rotated-files.js';

export interface PinHandler {
  /** Files opened after the newest one so far, oldest first, the current one last. */
  pinned(files: Pinned[], lost: PinLoss | undefined): void;
  /** Something was written, renamed or removed in the log's folder. */
  changed(): void;
  /** Opening the newer files failed (tried again at the next change). */
  failed(message: string): void;
}

/** Changes are batched this long before the main thread is told (it reads a caught-up file on a 250 ms beat anyway). */
const WAKE_MS = 50;
/**
 * A folder watch reports every write, and Docker writes each line on its own: 100 containers
 * writing 10 lines a second at random moments woke the thread 1,900 times a second (0.04 core);
 * a log written as fast as it can be, 50-100 k times a second. After each batch of events the
 * thread sleeps this long, so that what comes meanwhile is one batch (the kernel merges repeated
 * writes to one file into one event). A rename is seen at most this much later.
 */
const REST_MS = 10;
/**
 * A log Docker rotates more than once a second is not watched but looked at (one stat) every
 * FAST_MS, until it has not rotated for QUIET_MS: at max-size=1m a container writing as fast as
 * it can rotates every 35-45 ms here, and each file must be opened before Docker deletes it
 * (max-file=3: three rotations later).
 */
const FAST_MS = 10;
const QUIET_MS = 2000;
/** Every watched log is looked at this often too, in case its watch missed a rename (a full event queue). */
const CHECK_MS = 1000;
/** Where the folder cannot be watched (some network or overlay file systems), a log is looked at this often. */
const POLL_MS = 100;

type ToThread =
  | { op: 'follow'; key: number; path: string; after: string; afterFd: number | undefined }
  | { op: 'unfollow'; key: number }
  | { op: 'check'; key: number }
  | { op: 'release'; fds: number[] };
type FromThread = { changed: number[] } | { key: number; files: Pinned[]; lost?: PinLoss; error?: string };

interface Helpers {
  identity: typeof identity;
  closeQuietly: typeof closeQuietly;
  statOrNone: typeof statOrNone;
  pinAfter: typeof pinAfter;
  timing: { WAKE_MS: number; REST_MS: number; FAST_MS: number; QUIET_MS: number; CHECK_MS: number; POLL_MS: number };
}

/**
 * The thread's body. Runs from its source text: it may use require() and what it is given, not
 * this module's imports (a test runner rewrites references to those).
 */
function pinThreadMain({ identity, closeQuietly, statOrNone, pinAfter, timing }: Helpers): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fsT = require('node:fs') as typeof fs;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parentPort } = require('node:worker_threads') as typeof import('node:worker_threads');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { basename, dirname } = require('node:path') as typeof import('node:path');
  const port = parentPort as NonNullable<typeof parentPort>;
  interface Follow {
    key: number;
    path: string;
    newest: string;
    /** The newest file's descriptor (the main thread keeps it open until it has a newer one). */
    newestFd: number | undefined;
    watcher?: fs.FSWatcher;
    /** When a newer file was last opened. */
    lastPin: number;
    /** Looked at instead of watched: 'fast' while it rotates fast, 'poll' when not watchable. */
    looked?: 'fast' | 'poll';
    /** What the last look saw (identity and size). */
    seen?: string;
    nextLook?: number;
  }
  const follows = new Map<number, Follow>();
  /** Descriptors the main thread has its own of, kept while they are a follow's newestFd (see release). */
  const released = new Set<number>();
  const looked = new Set<Follow>();
  let looking: NodeJS.Timeout | undefined;
  let changed = new Set<number>();
  let wake: NodeJS.Timeout | undefined;
  const send = (m: FromThread) => port.postMessage(m);

  const pin = (f: Follow) => {
    try {
      const now = statOrNone(fsT, f.path);
      if (!now || identity(now) === f.newest) return;
      const got = pinAfter(fsT, f.path, f.newest, f.newestFd);
      if (!got) return;
      const last = got.files[got.files.length - 1] as Pinned;
      if (f.newestFd !== undefined && released.delete(f.newestFd)) closeQuietly(fsT, f.newestFd);
      f.newest = last.id;
      f.newestFd = last.fd;
      send(got.lost ? { key: f.key, files: got.files, lost: got.lost } : { key: f.key, files: got.files });
      const at = Date.now();
      if (at - f.lastPin < 1000 && !f.looked) look(f, 'fast');
      f.lastPin = at;
    } catch (err) {
      send({ key: f.key, files: [], error: (err as Error).message });
    }
  };
  const touched = (f: Follow) => {
    changed.add(f.key);
    wake ??= setTimeout(() => {
      wake = undefined;
      send({ changed: [...changed] });
      changed = new Set();
    }, timing.WAKE_MS);
  };

  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  let resting = false;
  /** Sleeps once the events of this turn of the loop are handled (see REST_MS). */
  const restAfterBatch = () => {
    if (resting) return;
    resting = true;
    setImmediate(() => {
      Atomics.wait(sleeper, 0, 0, timing.REST_MS);
      resting = false;
    });
  };

  const watch = (f: Follow): boolean => {
    const name = basename(f.path);
    try {
      f.watcher = fsT.watch(dirname(f.path), { persistent: false }, (event, file) => {
        if (file !== null && file !== undefined && !String(file).startsWith(name)) return;
        if (event === 'rename') pin(f);
        touched(f);
        restAfterBatch();
      });
      f.watcher.on('error', () => undefined);
      return true;
    } catch {
      return false;
    }
  };
  const look = (f: Follow, how: 'fast' | 'poll') => {
    f.watcher?.close();
    f.watcher = undefined;
    f.looked = how;
    f.nextLook = 0;
    looked.add(f);
    looking ??= setInterval(lookAll, timing.FAST_MS);
  };
  const lookAll = () => {
    const now = Date.now();
    for (const f of looked) {
      if (now < (f.nextLook ?? 0)) continue;
      if (f.looked === 'poll') f.nextLook = now + timing.POLL_MS;
      let s;
      try {
        s = statOrNone(fsT, f.path);
      } catch {
        s = undefined;
      }
      const seen = s ? `${identity(s)}:${s.size}` : '';
      if (seen !== f.seen) {
        f.seen = seen;
        pin(f);
        touched(f);
      } else if (f.looked === 'fast' && now - f.lastPin > timing.QUIET_MS) {
        // Rotating slowly again: watched, and looked at once more for what changed in between.
        looked.delete(f);
        f.looked = undefined;
        if (!watch(f)) look(f, 'poll');
        pin(f);
        touched(f);
      }
    }
    if (looked.size === 0 && looking) {
      clearInterval(looking);
      looking = undefined;
    }
  };

  setInterval(() => {
    for (const f of follows.values()) {
      if (!f.looked) pin(f);
    }
  }, timing.CHECK_MS);

  port.on('message', (m: ToThread) => {
    if (m.op === 'release') {
      const newest = new Set([...follows.values()].map((f) => f.newestFd));
      for (const fd of m.fds) {
        if (newest.has(fd)) released.add(fd);
        else closeQuietly(fsT, fd);
      }
      return;
    }
    if (m.op === 'follow') {
      const f: Follow = { key: m.key, path: m.path, newest: m.after, newestFd: m.afterFd, lastPin: 0 };
      follows.set(m.key, f);
      if (!watch(f)) look(f, 'poll');
      pin(f);
      return;
    }
    const f = follows.get(m.key);
    if (!f) return;
    if (m.op === 'check') return pin(f);
    f.watcher?.close();
    looked.delete(f);
    follows.delete(m.key);
    if (f.newestFd !== undefined && released.delete(f.newestFd)) closeQuietly(fsT, f.newestFd);
  });
}

const SOURCE = [
  `'use strict';`,
  // Every function of rotated-files (they call each other), then the body.
  ...Object.values(rotatedFiles)
    .filter((v) => typeof v === 'function')
    .map(String),
  String(pinThreadMain),
  `pinThreadMain({ identity, closeQuietly, statOrNone, pinAfter, timing: ${JSON.stringify({ WAKE_MS, REST_MS, FAST_MS, QUIET_MS, CHECK_MS, POLL_MS })} });`,
].join('\n');

/** If the thread ends (it should not), it is started again this much later with every follow. */
const RESTART_MS = 1000;

class PinThread {
  private worker: Worker | undefined;
  private restart: NodeJS.Timeout | undefined;
  private readonly follows = new Map<number, { path: string; newest: string; newestFd: number | undefined; handler: PinHandler }>();
  private nextKey = 1;

  /** Pins every file of `path` after the one whose identity is `after` (open as `afterFd`), from now until unfollow(). */
  follow(path: string, after: string, afterFd: number, handler: PinHandler): number {
    const key = this.nextKey++;
    this.follows.set(key, { path, newest: after, newestFd: afterFd, handler });
    this.post({ op: 'follow', key, path, after, afterFd });
    return key;
  }

  /** Look now (the main thread saw a rotation nothing was pinned for). */
  check(key: number): void {
    if (this.follows.has(key)) this.post({ op: 'check', key });
  }

  unfollow(key: number): void {
    if (this.follows.delete(key)) this.post({ op: 'unfollow', key });
  }

  /** Starts the thread ahead of the first follow. */
  warm(): void {
    this.start();
  }

  private post(m: ToThread): void {
    if (this.restart) return; // sent with every follow when it starts again
    this.start().postMessage(m);
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(SOURCE, { eval: true, resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 } });
    w.on('message', (m: FromThread) => this.received(m));
    w.on('error', (err) => {
      for (const f of this.follows.values()) f.handler.failed(`the pin thread failed: ${err.message}`);
    });
    w.on('exit', () => {
      this.worker = undefined;
      if (this.follows.size === 0) return;
      this.restart = setTimeout(() => {
        this.restart = undefined;
        for (const [key, f] of this.follows) this.post({ op: 'follow', key, path: f.path, after: f.newest, afterFd: f.newestFd });
      }, RESTART_MS).unref();
    });
    // After the listeners: adding a 'message' listener makes the worker keep the process alive again.
    w.unref();
    this.worker = w;
    return w;
  }

  private received(m: FromThread): void {
    if ('changed' in m) {
      for (const key of m.changed) this.follows.get(key)?.handler.changed();
      return;
    }
    const f = this.follows.get(m.key);
    if (!f) {
      // Unfollowed while these were on their way: nobody will read them.
      this.post({ op: 'release', fds: m.files.map((p) => p.fd) });
      return;
    }
    if (m.error !== undefined) return f.handler.failed(m.error);
    // Descriptors the thread opened are its own: Node closes them when the thread ends, and
    // warns when it opens one whose number the main thread closed and reused. This thread opens
    // its own of each file (through /proc: a deleted file too), and the thread closes its.
    const theirs: number[] = [];
    for (const p of m.files) {
      try {
        const own = fs.openSync(`/proc/self/fd/${p.fd}`, 'r');
        theirs.push(p.fd);
        p.fd = own;
      } catch {
        // No /proc: the thread's descriptor is used as it is.
      }
    }
    if (theirs.length > 0) this.post({ op: 'release', fds: theirs });
    const last = m.files[m.files.length - 1] as Pinned;
    f.newest = last.id;
    f.newestFd = last.fd;
    f.handler.pinned(m.files, m.lost);
  }
}

/** One pin thread for the process, started with the first follow. */
export const pinThread = new PinThread();
