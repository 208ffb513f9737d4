import { describe, expect, it } from 'vitest';
import { isUtf8 } from 'node:buffer';
import { LineAssembler, incompleteUtf8Tail, type Line } from '../../../../agent/docker/assemble-lines.js';
import { DOCKER_PARTIAL_SIZE, STDOUT, type LogEntry } from '../../../../agent/docker/decode-frames.js';

const T = (n: number) => `2026-11-23T16:00:00.${String(n).padStart(9, '0')}Z`;
const entry = (ts: string, content: string | Buffer): LogEntry => ({ stream: STDOUT, ts, content: Buffer.isBuffer(content) ? content : Buffer.from(content) });

function run(a: LineAssembler, entries: LogEntry[], flush = false): Line[] {
  const out: Line[] = [];
  for (const e of entries) a.push(e, (l) => out.push(l));
  if (flush) a.flush((l) => out.push(l));
  return out;
}

describe('LineAssembler', () => {
  it("Podman: a short piece without newline starts a line (the program's write), joined with what follows; an unterminated end still comes out", () => {
    const pieces = [entry(T(1), 'podman-line-'), entry(T(1), '263\n'), entry(T(2), 'abc'), entry(T(3), 'def\n'), entry(T(4), 'prompt> ')];
    const a = new LineAssembler(STDOUT, 1 << 20, false, undefined, true);
    const lines = run(a, pieces);
    a.flush((l) => lines.push(l));
    expect(lines.map((l) => l.msg.toString())).toEqual(['podman-line-263', 'abcdef', 'prompt> ']);
    // The cursor after a joined line counts every piece it took: resuming skips them all.
    expect(lines[1]?.cursor).toEqual({ ts: T(3), n: 1 });
    expect(lines[1]?.ts).toBe(T(2));
    // Docker's json-file never has short pieces without newline but at the end of output (and the local driver drops newlines): each is a line.
    expect(run(new LineAssembler(STDOUT, 1 << 20, false), pieces.slice(0, 2)).map((l) => l.msg.toString())).toEqual(['podman-line-', '263']);
  });

  it('strips the newline and counts entries per timestamp in the cursor', () => {
    const piece = 'x'.repeat(DOCKER_PARTIAL_SIZE);
    const lines = run(new LineAssembler(STDOUT, 1 << 20, false), [entry(T(1), 'a\n'), entry(T(2), piece), entry(T(2), 'b\r\n'), entry(T(3), '\n')]);
    expect(lines.map((l) => l.msg.toString())).toEqual(['a', `${piece}b\r`, '']);
    expect(lines.map((l) => l.cursor)).toEqual([
      { ts: T(1), n: 1 },
      { ts: T(2), n: 2 },
      { ts: T(3), n: 1 },
    ]);
  });

  it('strips \\r\\n on TTY streams (the terminal added the \\r)', () => {
    const lines = run(new LineAssembler(STDOUT, 1 << 20, true), [entry(T(1), 'a\r\n'), entry(T(2), 'crlf\r\r\n')]);
    expect(lines.map((l) => l.msg.toString())).toEqual(['a', 'crlf\r']);
  });

  it("passes a reader's JSON text on with whole one-entry lines only, without the escape of the \\r a TTY added", () => {
    const withJson = (ts: string, content: string, json: string): LogEntry => ({ ...entry(ts, content), json: Buffer.from(json) });
    const piece = 'x'.repeat(DOCKER_PARTIAL_SIZE);
    const tty = run(new LineAssembler(STDOUT, 1 << 20, true), [withJson(T(1), 'a"\r\n', 'a\\"\\r'), withJson(T(2), 'b\\r\n', 'b\\\\r'), withJson(T(3), 'c\r\n', 'c\\u000d')]);
    // (b ends in a backslash and an "r", not a carriage return: nothing to take off.)
    expect(tty.map((l) => l.json?.toString())).toEqual(['a\\"', 'b\\\\r', undefined]);
    // A backslash, then the carriage return: its escape is the last two characters.
    const bs = run(new LineAssembler(STDOUT, 1 << 20, true), [withJson(T(4), 'x\\\r\n', String.raw`x\\\r`)]);
    expect(bs[0]?.json?.toString()).toBe(String.raw`x\\`);
    const plain = run(new LineAssembler(STDOUT, 1 << 20, false), [withJson(T(1), 'q"\n', 'q\\"'), withJson(T(2), piece, piece), withJson(T(2), 'end\n', 'end')]);
    expect(plain.map((l) => l.json?.toString())).toEqual(['q\\"', undefined]);
  });

  it("joins Docker's 16 KiB pieces into the original line, stamped with the first piece's time", () => {
    const piece = 'x'.repeat(DOCKER_PARTIAL_SIZE);
    const lines = run(new LineAssembler(STDOUT, 1 << 20, false), [entry(T(1), piece), entry(T(1), piece), entry(T(2), 'end\n'), entry(T(3), 'next\n')]);
    expect(lines).toHaveLength(2);
    expect(lines[0]?.msg.length).toBe(2 * DOCKER_PARTIAL_SIZE + 3);
    expect(lines[0]?.ts).toBe(T(1));
    expect(lines[0]?.cursor).toEqual({ ts: T(2), n: 1 });
  });

  it("ends a line at a short piece without newline (the local driver's last piece)", () => {
    const piece = 'y'.repeat(DOCKER_PARTIAL_SIZE);
    const lines = run(new LineAssembler(STDOUT, 1 << 20, false), [entry(T(1), piece), entry(T(1), ''), entry(T(2), 'last\n')]);
    expect(lines.map((l) => l.msg.length)).toEqual([DOCKER_PARTIAL_SIZE, 4]);
  });

  it('ships lines over the limit as parts marked split, losing nothing', () => {
    const piece = 'z'.repeat(DOCKER_PARTIAL_SIZE);
    const lines = run(new LineAssembler(STDOUT, 2 * DOCKER_PARTIAL_SIZE, false), [entry(T(1), piece), entry(T(1), piece), entry(T(1), piece), entry(T(1), 'q\n')]);
    expect(lines.map((l) => [l.msg.length, l.split, l.cont ?? false])).toEqual([
      [2 * DOCKER_PARTIAL_SIZE, true, false],
      [DOCKER_PARTIAL_SIZE + 1, false, true],
    ]);
  });

  it('resumes exactly after a cursor: skips the n entries with its timestamp, and older ones', () => {
    // Pieces of one long line share a timestamp: the cursor counts them.
    const piece = 'y'.repeat(DOCKER_PARTIAL_SIZE);
    const all = [entry(T(1), 'a\n'), entry(T(2), piece), entry(T(2), piece), entry(T(2), 'd\n'), entry(T(3), 'e\n')];
    const a = new LineAssembler(STDOUT, DOCKER_PARTIAL_SIZE, false, { ts: T(2), n: 1 });
    const lines = run(a, all);
    expect(lines.map((l) => l.msg.toString())).toEqual([piece, 'd', 'e']);
    // A split part's cursor says how much of its last entry it holds (here all of it).
    expect(lines[0]?.cursor).toEqual({ ts: T(2), n: 2, b: DOCKER_PARTIAL_SIZE });
    expect(a.skipped).toBe(2);
  });

  it('drops entries Docker sends again when its stream jumps back in time (rotation replay)', () => {
    const a = new LineAssembler(STDOUT, 1 << 20, false);
    const lines = run(a, [entry(T(1), 'a\n'), entry(T(2), 'b\n'), entry(T(3), 'c\n'), entry(T(1), 'a\n'), entry(T(2), 'b\n'), entry(T(3), 'c\n'), entry(T(4), 'd\n')]);
    expect(lines.map((l) => l.msg.toString())).toEqual(['a', 'b', 'c', 'd']);
    expect(a.replays).toBe(1);
    expect(a.replaySkipped).toBe(3);
  });

  it('drops a replay that starts at the very last entry (same timestamp, not inside a multi-piece line)', () => {
    const a = new LineAssembler(STDOUT, 1 << 20, false);
    const lines = run(a, [entry(T(1), 'a\n'), entry(T(2), 'b\n'), entry(T(2), 'b\n'), entry(T(3), 'c\n')]);
    expect(lines.map((l) => l.msg.toString())).toEqual(['a', 'b', 'c']);
  });

  it('keeps different lines that share a timestamp (a coarse clock)', () => {
    const lines = run(new LineAssembler(STDOUT, 1 << 20, false), [entry(T(1), 'a\n'), entry(T(1), 'b\n'), entry(T(1), 'c\n'), entry(T(2), 'd\n')]);
    expect(lines.map((l) => l.msg.toString())).toEqual(['a', 'b', 'c', 'd']);
    expect(lines[2]?.cursor).toEqual({ ts: T(1), n: 3 });
  });

  it('keeps pieces of one line that share a timestamp, also across a split part', () => {
    const piece = 'p'.repeat(DOCKER_PARTIAL_SIZE);
    const a = new LineAssembler(STDOUT, DOCKER_PARTIAL_SIZE, false);
    const lines = run(a, [entry(T(1), piece), entry(T(1), piece), entry(T(1), 'end\n')]);
    expect(lines.map((l) => [l.msg.length, l.split, l.cont ?? false])).toEqual([
      [DOCKER_PARTIAL_SIZE, true, false],
      [DOCKER_PARTIAL_SIZE, true, true],
      [3, false, true],
    ]);
    expect(a.replays).toBe(0);
    // The next line is a line of its own.
    expect(run(a, [entry(T(2), 'next\n')]).map((l) => l.cont ?? false)).toEqual([false]);
  });

  it('flushes an unterminated line at the end of the stream', () => {
    const piece = 'w'.repeat(DOCKER_PARTIAL_SIZE);
    const lines = run(new LineAssembler(STDOUT, 1 << 20, false), [entry(T(1), piece)], true);
    expect(lines.map((l) => l.msg.length)).toEqual([DOCKER_PARTIAL_SIZE]);
  });
});

describe('split parts end at UTF-8 character boundaries', () => {
  // 日 is three bytes; Docker's 16 KiB pieces (16384 = 3 × 5461 + 1) cut characters in two.
  const text = Buffer.from('日'.repeat(40_000));
  const written = Buffer.concat([text, Buffer.from('\n')]);
  const pieces: LogEntry[] = [];
  for (let at = 0; at < written.length; at += DOCKER_PARTIAL_SIZE) pieces.push(entry(T(1 + Math.floor(at / DOCKER_PARTIAL_SIZE)), written.subarray(at, at + DOCKER_PARTIAL_SIZE)));

  it('finds the bytes of a character cut at the end', () => {
    const b = Buffer.from('a日é😀');
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => incompleteUtf8Tail(b.subarray(0, n)))).toEqual([0, 0, 1, 2, 0, 1, 0, 1, 2, 3, 0]);
    expect(incompleteUtf8Tail(Buffer.from([0xff, 0xfe]))).toBe(0);
  });

  it('every part is valid UTF-8, the parts are the line, and a split part says how much of its last entry it holds', () => {
    const lines = run(new LineAssembler(STDOUT, 2 * DOCKER_PARTIAL_SIZE, false), pieces);
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(isUtf8(l.msg)).toBe(true);
    expect(Buffer.concat(lines.map((l) => l.msg)).equals(text)).toBe(true);
    expect(lines.filter((l) => l.split).every((l) => l.cursor.b !== undefined)).toBe(true);
  });

  it('resuming from a split part cursor (Docker sends its entries again) continues byte-exact, marked as continuing', () => {
    const first = run(new LineAssembler(STDOUT, 2 * DOCKER_PARTIAL_SIZE, false), pieces);
    expect(first.length).toBeGreaterThan(2);
    for (let k = 0; k < first.length - 1; k++) {
      const cursor = (first[k] as Line).cursor;
      const again = run(new LineAssembler(STDOUT, 2 * DOCKER_PARTIAL_SIZE, false, cursor), pieces);
      expect(again[0]?.cont, `after part ${k}`).toBe(true);
      expect(Buffer.concat([...first.slice(0, k + 1), ...again].map((l) => l.msg)).equals(text), `after part ${k}`).toBe(true);
    }
  });
});
