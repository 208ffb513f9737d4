/**
 * FileTail on real files in a temp folder, changed the ways Docker's json-file driver changes
 * them: appended bytes arrive in order; a rotation (rename to .1, new file) loses nothing; a
 * truncation starts over and is reported; a deleted file is read to its end; a checkpoint whose
 * file was rotated meanwhile resumes in the rotated file at its offset.
 */
import { appendFileSync, mkdtempSync, renameSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { spawn } from 'node:child_process';
import { once, setMaxListeners } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { FileTail, tickerOf, type ChunkAt, type FilePosition } from '../../../../agent/files/tail-file.js';
import { identity, pinAfter } from '../../../../agent/files/rotated-files.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(from?: (path: string) => FilePosition, follow = true) {
  const dir = mkdtempSync(join(tmpdir(), 'shiplog-tail-'));
  dirs.push(dir);
  const path = join(dir, 'c-json.log');
  const got: Buffer[] = [];
  const positions: ChunkAt[] = [];
  const events: string[] = [];
  const ac = new AbortController();
  /** While set, the chunk handed on waits for it (a full shipper, say). */
  let gate: Promise<void> | undefined;
  const hold = () => {
    let release: () => void = () => undefined;
    gate = new Promise<void>((r) => (release = r));
    return () => {
      gate = undefined;
      release();
    };
  };
  const start = () =>
    new FileTail(
      path,
      from?.(path),
      async (b, at) => {
        got.push(b);
        positions.push(at);
        if (gate) await gate;
      },
      { pollMs: 50, signal: ac.signal, follow, onEvent: (what) => events.push(what) },
    ).run();
  const text = () => Buffer.concat(got).toString();
  const until = async (cond: () => boolean, what: string) => {
    for (let i = 0; i < 600 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
    if (!cond()) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(text())}`);
  };
  return { path, got, positions, events, ac, start, text, until, hold };
}

describe('FileTail', () => {
  it('hands on appended bytes in order with the position after them', async () => {
    const t = setup();
    writeFileSync(t.path, 'one\n');
    const run = t.start();
    for (let i = 0; i < 20; i++) appendFileSync(t.path, `line ${i}\n`);
    await t.until(() => t.text().endsWith('line 19\n'), 'the appends');
    t.ac.abort();
    expect(await run).toBe('aborted');
    expect(t.text()).toBe(`one\n${Array.from({ length: 20 }, (_, i) => `line ${i}\n`).join('')}`);
    expect(t.positions.at(-1)?.offset).toBe(statSync(t.path).size);
    expect(t.positions.at(-1)?.ino).toBe(String(statSync(t.path, { bigint: true }).ino));
  });

  it('follows a rotation: the old file to its end, then the new one, nothing lost', async () => {
    const t = setup();
    writeFileSync(t.path, 'a\n');
    const run = t.start();
    await t.until(() => t.text() === 'a\n', 'the first line');
    appendFileSync(t.path, 'b\n');
    renameSync(t.path, `${t.path}.1`);
    appendFileSync(`${t.path}.1`, 'c written late to the old file\n');
    writeFileSync(t.path, 'd\n');
    await t.until(() => t.text().endsWith('d\n'), 'the new file');
    appendFileSync(t.path, 'e\n');
    await t.until(() => t.text().endsWith('e\n'), 'an append to the new file');
    t.ac.abort();
    await run;
    expect(t.text()).toBe('a\nb\nc written late to the old file\nd\ne\n');
    expect(t.events).toContain('rotated');
  });

  it('starts over after a truncation, and says so', async () => {
    const t = setup();
    writeFileSync(t.path, 'long first content\n');
    const run = t.start();
    await t.until(() => t.text() === 'long first content\n', 'the content');
    truncateSync(t.path, 0);
    appendFileSync(t.path, 'new\n');
    await t.until(() => t.text().endsWith('new\n'), 'the new content');
    t.ac.abort();
    await run;
    expect(t.events).toContain('truncated');
  });

  it('reads a deleted file to its end, then ends', async () => {
    const t = setup();
    writeFileSync(t.path, 'x\n');
    const run = t.start();
    await t.until(() => t.text() === 'x\n', 'the content');
    appendFileSync(t.path, 'last words\n');
    unlinkSync(t.path);
    expect(await run).toBe('deleted');
    expect(t.text()).toBe('x\nlast words\n');
  });

  it('resumes a checkpoint whose file was rotated meanwhile: from its offset in .1, then the current file', async () => {
    const checkpoint: { at?: FilePosition } = {};
    const t = setup(() => checkpoint.at as FilePosition);
    writeFileSync(t.path, 'shipped\nnot yet\n');
    const s = statSync(t.path, { bigint: true });
    checkpoint.at = { dev: String(s.dev), ino: String(s.ino), offset: 'shipped\n'.length };
    renameSync(t.path, `${t.path}.1`);
    writeFileSync(t.path, 'newer\n');
    const run = t.start();
    await t.until(() => t.text().endsWith('newer\n'), 'the current file');
    t.ac.abort();
    await run;
    expect(t.text()).toBe('not yet\nnewer\n');
    expect(t.events).toContain('resumed-rotated');
  });
});

describe('FileTail and the rotated files', () => {
  it('reads every rotated file newer than the one it read when Docker rotated twice between two looks', async () => {
    const t = setup();
    writeFileSync(t.path, 'a1\n');
    const run = t.start();
    await t.until(() => t.text() === 'a1\n', 'the first file');
    // Two rotations in a row, as json-file does them (rename the older ones up, the current to .1, create).
    appendFileSync(t.path, 'a2\n');
    renameSync(t.path, `${t.path}.1`);
    writeFileSync(t.path, 'b1\nb2\n');
    renameSync(`${t.path}.1`, `${t.path}.2`);
    renameSync(t.path, `${t.path}.1`);
    writeFileSync(t.path, 'c1\n');
    await t.until(() => t.text().endsWith('c1\n'), 'the newest file');
    appendFileSync(t.path, 'c2\n');
    await t.until(() => t.text().endsWith('c2\n'), 'an append to it');
    t.ac.abort();
    await run;
    expect(t.text()).toBe('a1\na2\nb1\nb2\nc1\nc2\n');
    // The chunks say which file they came from, in reading order.
    expect(new Set(t.positions.map((p) => p.seq)).size).toBe(3);
  });

  it('opens the files rotated in while the main thread is busy: none is lost when max-file deletes them', async () => {
    const t = setup();
    writeFileSync(t.path, 'gen 0\n');
    const run = t.start();
    await t.until(() => t.text() === 'gen 0\n', 'the first file');
    // Another process rotates as json-file does at max-file=3 (the oldest is overwritten, so
    // deleted), 6 times, 150 ms apart: each file is deleted 300 ms after it appeared. This
    // thread is blocked meanwhile for twice as long as all of it; only the pin thread can open them.
    const rotate = `for i in 1 2 3 4 5 6; do [ -e "$P.1" ] && mv -f "$P.1" "$P.2"; mv "$P" "$P.1"; printf 'gen %s\\n' $i > "$P"; sleep 0.15; done`;
    const child = spawn('sh', ['-c', rotate], { env: { ...process.env, P: t.path }, stdio: 'inherit' });
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
    if (child.exitCode === null) await once(child, 'exit');
    expect(child.exitCode).toBe(0);
    await t.until(() => t.text().endsWith('gen 6\n'), 'the newest file');
    t.ac.abort();
    await run;
    expect(t.text()).toBe(Array.from({ length: 7 }, (_, i) => `gen ${i}\n`).join(''));
    expect(t.events).not.toContain('rotations-overrun');
  });

  it('opens every rotated file before reading the first: rotations while the oldest is read lose none', async () => {
    const t = setup();
    writeFileSync(`${t.path}.2`, 'b\n');
    writeFileSync(`${t.path}.1`, 'a\n');
    writeFileSync(t.path, 'n\n');
    const release = t.hold();
    const run = t.start();
    await t.until(() => t.got.length > 0, 'the first chunk');
    // Reading .2 waits (the shipper full, say) while json-file rotates twice at max-file=3: the
    // .1 listed is deleted before its turn.
    for (const next of ['m\n', 'l\n']) {
      renameSync(`${t.path}.1`, `${t.path}.2`);
      renameSync(t.path, `${t.path}.1`);
      writeFileSync(t.path, next);
    }
    release();
    await t.until(() => t.text().endsWith('l\n'), 'the newest file');
    t.ac.abort();
    await run;
    expect(t.text()).toBe('b\na\nn\nm\nl\n');
  });

  it('tells a file deleted past max-file whose successor is kept (nothing lost) from one whose successor went too', async () => {
    for (const rotations of [3, 4]) {
      const dir = mkdtempSync(join(tmpdir(), 'shiplog-pin-'));
      dirs.push(dir);
      const path = join(dir, 'c-json.log');
      writeFileSync(path, 'n\n');
      const fd = fs.openSync(path, 'r');
      const oldId = identity(fs.fstatSync(fd, { bigint: true }));
      // json-file at max-file=3: .1 renamed over .2 (deleting it), the current one to .1, a new
      // one; 10 ms apart (file times are kept in clock ticks of a few ms: two rotations within
      // one tick look like one).
      for (let i = 0; i < rotations; i++) {
        await new Promise((r) => setTimeout(r, 10));
        if (fs.existsSync(`${path}.1`)) renameSync(`${path}.1`, `${path}.2`);
        renameSync(path, `${path}.1`);
        writeFileSync(path, `${i}\n`);
      }
      const got = pinAfter(fs, path, oldId, fd);
      fs.closeSync(fd);
      for (const p of got?.files ?? []) fs.closeSync(p.fd);
      expect(got?.files.map((p) => p.index)).toEqual([2, 1, 0]);
      expect(got?.lost, `${rotations} rotations`).toBe(rotations === 3 ? undefined : 'overrun');
    }
  });

  it('starts at the oldest rotated file, compressed or not, when there is no position', async () => {
    const t = setup(undefined, false);
    writeFileSync(`${t.path}.3.gz`, gzipSync('oldest\n'));
    writeFileSync(`${t.path}.2.gz`, gzipSync('older\n'));
    writeFileSync(`${t.path}.1`, 'newer\n');
    writeFileSync(t.path, 'current\n');
    expect(await t.start()).toBe('ended');
    expect(t.text()).toBe('oldest\nolder\nnewer\ncurrent\n');
  });

  it('resumes inside a compressed rotated file at an uncompressed offset', async () => {
    const checkpoint: { at?: FilePosition } = {};
    const t = setup(() => checkpoint.at as FilePosition, false);
    writeFileSync(`${t.path}.2.gz`, gzipSync('too old\n'));
    writeFileSync(`${t.path}.1.gz`, gzipSync('shipped\nnot yet\n'));
    writeFileSync(t.path, 'current\n');
    const s = statSync(`${t.path}.1.gz`, { bigint: true });
    checkpoint.at = { dev: String(s.dev), ino: String(s.ino), offset: 'shipped\n'.length };
    expect(await t.start()).toBe('ended');
    expect(t.text()).toBe('not yet\ncurrent\n');
    expect(t.events).toContain('resumed-rotated');
  });

  it('reads everything again, and says so, when the position names a file that is gone', async () => {
    const t = setup(() => ({ dev: '1', ino: '1', offset: 5 }), false);
    writeFileSync(`${t.path}.1`, 'rotated\n');
    writeFileSync(t.path, 'current\n');
    expect(await t.start()).toBe('ended');
    expect(t.text()).toBe('rotated\ncurrent\n');
    expect(t.events).toContain('position-lost');
  });
});

describe('FileTail polling', () => {
  it('many followed files share one poll timer, which stops when none waits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shiplog-tail-many-'));
    dirs.push(dir);
    const ac = new AbortController();
    setMaxListeners(250, ac.signal);
    const period = 77;
    const runs = Array.from({ length: 200 }, (_, i) => {
      const p = join(dir, `c${i}-json.log`);
      writeFileSync(p, `${i}\n`);
      return new FileTail(p, undefined, () => undefined, { pollMs: period, signal: ac.signal }).run();
    });
    const ticker = tickerOf(period);
    for (let i = 0; i < 200 && ticker.size < 200; i++) await new Promise((r) => setTimeout(r, 25));
    expect(ticker.size).toBe(200);
    ac.abort();
    expect(await Promise.all(runs)).toEqual(runs.map(() => 'aborted'));
    expect(ticker.size).toBe(0);
  });
});
